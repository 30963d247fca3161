import * as aws from "@pulumi/aws";
import { validateResourceOfType } from "@pulumi/policy";
import { isSet, resourceRule } from "../support/define";
import { cisEks } from "../support/frameworks";
import { azure, gcp } from "../support/types";

export const clusterSecretsEncryption = resourceRule(
  {
    name: "cluster-secrets-encryption",
    description:
      "Kubernetes Secrets (database passwords, MLflow credentials, API keys) are envelope-encrypted in etcd with a customer-managed key: an EKS encryption config for \"secrets\" with a KMS key, GKE application-layer Secrets encryption with a Cloud KMS key, AKS Key Vault KMS. A copy of etcd or of its backups then reveals nothing without the key.",
    severity: "high",
    framework: cisEks("5.3.1 Ensure Kubernetes Secrets are encrypted using Customer Master Keys (CMKs) managed in AWS KMS (GKE: application-layer secrets encryption)"),
    clouds: ["aws", "gcp", "azure"],
    enforcementLevel: "mandatory",
    remediationSteps:
      "EKS: encryptionConfig {provider: {keyArn: <KMS key ARN>}, resources: [\"secrets\"]}. GKE: databaseEncryption {state: \"ENCRYPTED\", keyName}. AKS: securityProfile.azureKeyVaultKms {enabled: true, keyId}.",
  },
  [
    validateResourceOfType(aws.eks.Cluster, (cluster, args, report) => {
      const configs = [cluster.encryptionConfig].flat().filter(Boolean) as { provider?: { keyArn?: string }; resources?: string[] }[];
      const ok = configs.some((c) => (c.resources ?? []).includes("secrets") && isSet(() => c.provider?.keyArn));
      if (!ok) report(`EKS cluster "${args.name}" stores Secrets without KMS envelope encryption: set encryptionConfig with a KMS keyArn for resources ["secrets"]`);
    }),
    validateResourceOfType(gcp.gkeCluster, (cluster, args, report) => {
      const db = cluster.databaseEncryption;
      if (db?.state !== "ENCRYPTED" || !isSet(() => db.keyName)) report(`GKE cluster "${args.name}" has no application-layer Secrets encryption: set databaseEncryption {state: "ENCRYPTED", keyName}`);
    }),
    validateResourceOfType(azure.aksCluster, (cluster, args, report) => {
      const kms = cluster.securityProfile?.azureKeyVaultKms;
      if (kms?.enabled !== true || !isSet(() => kms.keyId)) report(`AKS cluster "${args.name}" has no Key Vault KMS encryption of Secrets: set securityProfile.azureKeyVaultKms {enabled: true, keyId}`);
    }),
  ],
);
