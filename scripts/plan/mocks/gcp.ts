/** What Google Cloud computes for the GCP foundation's resources and invokes (components/gcp), for Pulumi's mocks. */
import type { ProviderMocks } from "./types";

export const GCP_PROJECT_NUMBER = "987654321098";
export const GKE_ENDPOINT = "34.118.0.10";
export const GKE_CA = Buffer.from("offline-gke-ca").toString("base64");
export const CLOUD_SQL_PRIVATE_IP = "10.100.0.3";

const SERVICE_AGENT_DOMAINS: Record<string, string> = {
  "sqladmin.googleapis.com": "gcp-sa-cloud-sql",
  "container.googleapis.com": "container-engine-robot",
  "artifactregistry.googleapis.com": "gcp-sa-artifactregistry",
};

export const gcpMocks: ProviderMocks = {
  computedOutputs: {
    "gcp:container/cluster:Cluster": (a) => ({
      name: a.inputs.name ?? a.name,
      endpoint: GKE_ENDPOINT,
      masterAuth: { ...(a.inputs.masterAuth ?? {}), clusterCaCertificate: GKE_CA },
      selfLink: `https://container.googleapis.com/v1/projects/${a.inputs.project}/locations/${a.inputs.location}/clusters/${a.inputs.name ?? a.name}`,
    }),
    "gcp:serviceaccount/account:Account": (a) => {
      const email = `${a.inputs.accountId}@${a.inputs.project}.iam.gserviceaccount.com`;
      return { email, member: `serviceAccount:${email}`, name: `projects/${a.inputs.project}/serviceAccounts/${email}`, uniqueId: "100000000000000000001" };
    },
    "gcp:sql/databaseInstance:DatabaseInstance": (a) => {
      const name = a.inputs.name ?? a.name;
      return { name, privateIpAddress: CLOUD_SQL_PRIVATE_IP, connectionName: `${a.inputs.project}:${a.inputs.region}:${name}`, firstIpAddress: CLOUD_SQL_PRIVATE_IP };
    },
    "gcp:projects/serviceIdentity:ServiceIdentity": (a) => {
      const email = `service-${GCP_PROJECT_NUMBER}@${SERVICE_AGENT_DOMAINS[a.inputs.service] ?? "gcp-sa-unknown"}.iam.gserviceaccount.com`;
      return { email, member: `serviceAccount:${email}` };
    },
    "gcp:storage/bucket:Bucket": (a) => {
      // Pulumi auto-names a bucket <resource name>-<7 random characters>.
      const name = a.inputs.name ?? `${a.name}-a1b2c3d`;
      return { name, url: `gs://${name}`, selfLink: `https://www.googleapis.com/storage/v1/b/${name}` };
    },
    "gcp:artifactregistry/repository:Repository": (a) => ({ name: a.inputs.repositoryId }),
  },

  /** Resource ids Google derives from the resource (full resource paths). */
  computedIds: {
    "gcp:kms/keyRing:KeyRing": (s) => `projects/${s.project}/locations/${s.location}/keyRings/${s.name}`,
    "gcp:kms/cryptoKey:CryptoKey": (s) => `${s.keyRing}/cryptoKeys/${s.name}`,
    "gcp:compute/network:Network": (s) => `projects/${s.project}/global/networks/${s.name}`,
    "gcp:compute/subnetwork:Subnetwork": (s) => `projects/${s.project}/regions/${s.region}/subnetworks/${s.name}`,
    "gcp:container/cluster:Cluster": (s) => `projects/${s.project}/locations/${s.location}/clusters/${s.name}`,
    "gcp:storage/bucket:Bucket": (s) => s.name,
  },

  invokeResults: {
    "gcp:organizations/getProject:getProject": (a) => ({ projectId: a.inputs.projectId, number: GCP_PROJECT_NUMBER, name: a.inputs.projectId, id: `projects/${a.inputs.projectId}` }),
    "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": (a) => {
      const email = `service-${GCP_PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com`;
      return { project: a.inputs.project, emailAddress: email, member: `serviceAccount:${email}`, id: email };
    },
  },
};
