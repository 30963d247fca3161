import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AwsFoundation } from "../../../components/aws";
import { IMAGE_NAMES } from "../../images";
import { CERT_MANAGER_SERVICE_ACCOUNT } from "../../../components/kubernetes/cert-manager";
import { LOG_SHIPPER_SERVICE_ACCOUNT, VELERO_SERVICE_ACCOUNT } from "../../../components/kubernetes/constants";
import { backupLifecycle } from "../../operations";
import { MLFLOW_SERVICE_ACCOUNT, type BuiltFoundation, type FoundationRequest } from "../target";
import { awsAutoscaling, resolveAwsProfile, type AwsSettings } from "./settings";

/** The ECR path prefix of the platform's repositories (`<prefix>/<image>`). */
const REGISTRY_PREFIX = "mlops";

/** VPC, EKS, RDS, S3, ECR and IRSA from the stack's AWS settings and the environment's decisions. */
export async function buildAwsFoundation(req: FoundationRequest<AwsSettings>): Promise<BuiltFoundation> {
  const { settings: s, profile } = req;
  const aws_ = resolveAwsProfile(req.environment, profile, s);
  const component = new AwsFoundation(req.name, {
    clusterName: req.name,
    network: {
      vpcCidr: s.network.vpcCidr,
      availabilityZoneCount: s.network.availabilityZoneCount,
      natGateways: profile.network.egressPerZone ? "perAz" : "single",
      flowLogs: profile.network.flowLogs,
    },
    cluster: {
      kubernetesVersion: s.cluster.kubernetesVersion,
      endpointPublicAccess: s.cluster.endpointPublicAccess,
      publicAccessCidrs: s.cluster.publicAccessCidrs,
      privateAccessCidrs: s.cluster.privateAccessCidrs,
      adminPrincipalArns: s.cluster.adminPrincipalArns,
      viewerPrincipalArns: s.cluster.viewerPrincipalArns,
      awsProfile: new pulumi.Config("aws").get("profile"),
      nodeGroup: { capacityType: aws_.cluster.capacityType, instanceTypes: aws_.cluster.instanceTypes, ...aws_.cluster.nodeCount, diskSizeGb: aws_.cluster.nodeDiskGb },
    },
    database: {
      engineVersion: s.database.engineVersion,
      ...aws_.database,
      multiAz: profile.database.highAvailability,
      backupRetentionDays: profile.database.backupRetentionDays,
      deletionProtection: profile.database.deletionProtection,
      skipFinalSnapshot: !profile.database.deletionProtection,
    },
    artifactStore: {
      prefix: req.artifactPrefix,
      forceDestroy: profile.artifactStore.forceDestroy,
      noncurrentVersionExpirationDays: profile.artifactStore.noncurrentVersionExpirationDays,
      coldStorageAfterDays: profile.artifactStore.coldStorageAfterDays,
      abortIncompleteUploadDays: profile.artifactStore.abortIncompleteUploadDays,
    },
    autoscaling: awsAutoscaling(aws_, profile, s),
    imageRegistry: { prefix: REGISTRY_PREFIX, images: IMAGE_NAMES, untaggedExpiryDays: 14, forceDelete: profile.artifactStore.forceDestroy },
    mlflowServiceAccount: MLFLOW_SERVICE_ACCOUNT,
    certManagerDns: req.dnsZone && { zoneName: req.dnsZone.name, zoneId: req.dnsZone.id, serviceAccount: CERT_MANAGER_SERVICE_ACCOUNT },
    logRetentionDays: profile.logRetentionDays,
    backups: { ...backupLifecycle(profile), serviceAccount: VELERO_SERVICE_ACCOUNT },
    containerLogs: { serviceAccount: LOG_SHIPPER_SERVICE_ACCOUNT },
    tags: req.tags,
  });
  const [{ accountId }, { region }] = await Promise.all([aws.getCallerIdentity({}), aws.getRegion({})]);
  return { component, defaultImageRegistry: `${accountId}.dkr.ecr.${region}.amazonaws.com/${REGISTRY_PREFIX}` };
}
