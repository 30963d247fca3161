import { GcpFoundation, type GcpFoundationArgs } from "../../../components/gcp";
import { runProgram, type DeclaredResource, type PlanResult } from "../../../scripts/plan/harness";

export const T = {
  service: "gcp:projects/service:Service",
  network: "gcp:compute/network:Network",
  subnet: "gcp:compute/subnetwork:Subnetwork",
  router: "gcp:compute/router:Router",
  nat: "gcp:compute/routerNat:RouterNat",
  globalAddress: "gcp:compute/globalAddress:GlobalAddress",
  peering: "gcp:servicenetworking/connection:Connection",
  cluster: "gcp:container/cluster:Cluster",
  nodePool: "gcp:container/nodePool:NodePool",
  account: "gcp:serviceaccount/account:Account",
  accountIam: "gcp:serviceaccount/iAMMember:IAMMember",
  projectIam: "gcp:projects/iAMMember:IAMMember",
  serviceIdentity: "gcp:projects/serviceIdentity:ServiceIdentity",
  sql: "gcp:sql/databaseInstance:DatabaseInstance",
  sqlUser: "gcp:sql/user:User",
  sqlDatabase: "gcp:sql/database:Database",
  bucket: "gcp:storage/bucket:Bucket",
  bucketIam: "gcp:storage/bucketIAMMember:BucketIAMMember",
  keyRing: "gcp:kms/keyRing:KeyRing",
  cryptoKey: "gcp:kms/cryptoKey:CryptoKey",
  keyIam: "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
  repository: "gcp:artifactregistry/repository:Repository",
  repositoryIam: "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
  k8sProvider: "pulumi:providers:kubernetes",
  password: "random:index/randomPassword:RandomPassword",
} as const;

export const TAGS = { project: "mlops-platform", environment: "prod", team: "ML Platform", "cost-center": "CC-1234", "managed-by": "pulumi" };

/** Args as the prod profile would fill them. */
export function prodArgs(): GcpFoundationArgs {
  return {
    project: "mlops-prod-123",
    region: "europe-west1",
    zone: "europe-west1-b",
    clusterName: "mlops-prod",
    network: { subnetCidr: "10.20.0.0/20", podsCidr: "10.24.0.0/14", servicesCidr: "10.28.0.0/20", masterCidr: "172.16.0.0/28", privateServicesPrefixLength: 20, flowLogs: true },
    cluster: {
      kubernetesVersion: "1.33",
      releaseChannel: "REGULAR",
      regional: true,
      authorizedNetworks: ["198.51.100.0/24"],
      machineType: "e2-standard-4",
      nodeCount: { min: 3, max: 12 },
      spot: false,
      diskSizeGb: 100,
      secretsEncryption: true,
      deletionProtection: true,
      maintenanceStartTime: "03:00",
    },
    database: {
      postgresVersion: "16",
      tier: "db-custom-2-7680",
      edition: "ENTERPRISE",
      diskSizeGb: 50,
      diskAutoresizeLimitGb: 500,
      highAvailability: true,
      backupRetentionDays: 14,
      pointInTimeRecovery: true,
      deletionProtection: true,
      cmek: true,
    },
    artifactStore: { prefix: "mlflow", forceDestroy: false, noncurrentVersionExpirationDays: 90, abortIncompleteUploadDays: 7, coldStorageAfterDays: 90, cmek: true },
    registry: { repositoryId: "mlops", deleteUntaggedAfterDays: 30 },
    protectKeys: true,
    mlflowServiceAccount: { namespace: "mlops", name: "mlflow" },
    tags: TAGS,
  };
}

/** Args as the dev profile would fill them. */
export function devArgs(): GcpFoundationArgs {
  const prod = prodArgs();
  return {
    ...prod,
    project: "mlops-dev-123",
    clusterName: "mlops-dev",
    network: { ...prod.network, flowLogs: false },
    cluster: {
      ...prod.cluster,
      regional: false,
      authorizedNetworks: ["203.0.113.0/24"],
      machineType: "e2-standard-2",
      nodeCount: { min: 1, max: 3 },
      spot: true,
      diskSizeGb: 50,
      secretsEncryption: false,
      deletionProtection: false,
      maintenanceStartTime: undefined,
    },
    database: { ...prod.database, tier: "db-custom-1-3840", highAvailability: false, backupRetentionDays: 1, pointInTimeRecovery: true, deletionProtection: false, cmek: false },
    artifactStore: { prefix: "mlflow", forceDestroy: true, noncurrentVersionExpirationDays: 7, abortIncompleteUploadDays: 1, cmek: false },
    registry: { repositoryId: "mlops" },
    protectKeys: false,
    tags: { ...TAGS, environment: "dev" },
  };
}

export interface Declared {
  result: PlanResult;
  foundation: GcpFoundation;
  /** Outputs of the component, resolved. */
  outputs: Record<string, unknown>;
  secretOutputs: string[];
  foundationValues: Record<string, unknown>;
}

/** Declares a GcpFoundation directly under the shared mocks, and resolves its outputs and Foundation. */
export async function declareFoundation(args: GcpFoundationArgs, name = "mlops-test"): Promise<Declared> {
  let foundation!: GcpFoundation;
  const result = await runProgram({ stack: "dev" }, () => async () => {
    foundation = new GcpFoundation(name, args);
    const f = foundation.foundation;
    return {
      ...Object.fromEntries(Object.entries(foundation.outputs).map(([k, v]) => [`out:${k}`, v])),
      "f:dbHost": f.database.host,
      "f:dbPort": f.database.port,
      "f:dbUser": f.database.username,
      "f:dbPassword": f.database.password,
      "f:artifactUri": f.artifactStore.uri,
      "f:annotations": f.mlflowIdentity.serviceAccountAnnotations,
      "f:podLabels": f.mlflowIdentity.podLabels,
    };
  });
  const outputs: Record<string, unknown> = {};
  const foundationValues: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(result.outputs)) {
    if (k.startsWith("out:")) outputs[k.slice(4)] = v;
    else foundationValues[k.slice(2)] = v;
  }
  return { result, foundation, outputs, secretOutputs: result.secretOutputs, foundationValues };
}

export const ofType = (r: PlanResult, type: string): DeclaredResource[] => r.resources.filter((x) => x.type === type);

export function one(r: PlanResult, type: string, nameSuffix = ""): DeclaredResource {
  const found = ofType(r, type).filter((x) => x.name.endsWith(nameSuffix));
  if (found.length !== 1) throw new Error(`expected one ${type} *${nameSuffix}, found ${found.map((x) => x.name).join(", ") || "none"}`);
  return found[0];
}

export const byUrn = (r: PlanResult, urn: string): DeclaredResource | undefined => r.resources.find((x) => x.urn === urn);

/** Whether `from` waits for `to` (an explicit dependsOn or a property it reads). */
export function dependsOn(from: DeclaredResource, to: DeclaredResource): boolean {
  return from.dependencies.includes(to.urn) || Object.values(from.propertyDependencies).some((urns) => urns.includes(to.urn));
}

export const idOf = (r: DeclaredResource): string => r.id ?? `${r.name}-id`;
