import * as aws from "@pulumi/aws";
import { validateResourceOfType } from "@pulumi/policy";
import { isSet, resourceRule } from "../support/define";
import { cisAws } from "../support/frameworks";
import { azure, gcp } from "../support/types";

interface Params {
  requireCustomerManagedKey: boolean;
}

export const databaseEncrypted = resourceRule(
  {
    name: "database-encrypted",
    description:
      "Database storage, backups and snapshots are encrypted at rest with a customer-managed key. RDS instances and Aurora clusters set storageEncrypted with a KMS key of ours; Cloud SQL instances name a Cloud KMS key (CMEK); Azure PostgreSQL flexible servers use a Key Vault key. Cloud SQL and Azure always encrypt with the provider's keys, which requireCustomerManagedKey false accepts.",
    severity: "high",
    framework: cisAws("2.3.1 Ensure that encryption-at-rest is enabled for RDS Instances"),
    clouds: ["aws", "gcp", "azure"],
    enforcementLevel: "mandatory",
    configSchema: { properties: { requireCustomerManagedKey: { type: "boolean", default: true } } },
    remediationSteps:
      "AWS: storageEncrypted true and kmsKeyId set to a KMS key of the stack (encryption cannot be turned on later without a snapshot restore). GCP: encryptionKeyName. Azure: dataEncryption.type \"AzureKeyVault\" with primaryKeyURI and a user-assigned identity.",
  },
  [
    validateResourceOfType(aws.rds.Instance, (db, args, report) => {
      if (db.storageEncrypted !== true) report(`RDS instance "${args.name}" is not encrypted: set storageEncrypted true (it cannot be changed in place later)`);
      else if (args.getConfig<Params>().requireCustomerManagedKey && !isSet(() => db.kmsKeyId)) report(`RDS instance "${args.name}" uses the AWS-managed key aws/rds: set kmsKeyId to a KMS key of the stack`);
    }),
    validateResourceOfType(aws.rds.Cluster, (db, args, report) => {
      if (db.storageEncrypted !== true) report(`Aurora cluster "${args.name}" is not encrypted: set storageEncrypted true`);
      else if (args.getConfig<Params>().requireCustomerManagedKey && !isSet(() => db.kmsKeyId)) report(`Aurora cluster "${args.name}" uses the AWS-managed key: set kmsKeyId`);
    }),
    validateResourceOfType(gcp.sqlInstance, (db, args, report) => {
      if (args.getConfig<Params>().requireCustomerManagedKey && !isSet(() => db.encryptionKeyName)) report(`Cloud SQL instance "${args.name}" uses Google-managed keys: set encryptionKeyName (CMEK)`);
    }),
    validateResourceOfType(azure.postgresServer, (db, args, report) => {
      if (args.getConfig<Params>().requireCustomerManagedKey && db.dataEncryption?.type !== "AzureKeyVault") report(`PostgreSQL flexible server "${args.name}" uses Microsoft-managed keys: set dataEncryption.type "AzureKeyVault"`);
    }),
  ],
);
