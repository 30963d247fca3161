import * as pulumi from "@pulumi/pulumi";
import { LocalFoundation, type LocalFoundationArgs } from "../../../components/local";
import { runProgram, type DeclaredResource, type PlanResult } from "../../../scripts/plan/harness";
import { toObjects, type K8sObject } from "../kubernetes/support/plan";
import { schemaKubernetesVersion } from "../kubernetes/support/schema";

/** The arguments a kind stack would pass (infra decides them); tests override parts. */
export function kindArgs(overrides: Partial<LocalFoundationArgs> = {}): LocalFoundationArgs {
  return {
    context: "kind-mlops",
    kubeconfigPath: "/home/dev/.kube/config",
    // The schemas the Kubernetes objects are validated against are those of this version.
    kubernetesVersion: schemaKubernetesVersion(),
    installMetricsServer: true,
    database: {
      postgresVersion: "16",
      storageSize: "5Gi",
      resources: { cpuRequest: "100m", memoryRequest: "256Mi", cpuLimit: "1", memoryLimit: "512Mi" },
    },
    artifactStore: { size: "10Gi" },
    imageRegistry: "localhost/mlops",
    mlflowServiceAccount: { namespace: "mlops", name: "mlflow" },
    labels: { team: "ml-platform" },
    ...overrides,
  };
}

export interface LocalPlan {
  result: PlanResult;
  resources: DeclaredResource[];
  objects: K8sObject[];
  foundation: LocalFoundation;
}

/**
 * Declares LocalFoundation alone under the harness's mocks (the dev stack's config is loaded but not
 * read) and exports the Foundation's values and outputs, resolved, as stack outputs.
 */
export async function planLocal(args: LocalFoundationArgs): Promise<LocalPlan> {
  let foundation!: LocalFoundation;
  const result = await runProgram({ stack: "dev" }, () => async () => {
    foundation = new LocalFoundation("local", args);
    const f = foundation.foundation;
    return {
      ...foundation.outputs,
      dbHost: f.database.host,
      dbPort: f.database.port,
      dbUsername: f.database.username,
      dbPassword: f.database.password,
      artifactUri: f.artifactStore.uri,
      serviceAccountAnnotations: f.mlflowIdentity.serviceAccountAnnotations,
      podLabels: f.mlflowIdentity.podLabels,
      resourceMetricsUrns: pulumi.all(f.resourceMetrics.map((r) => r.urn)),
    };
  });
  return { result, resources: result.resources, objects: toObjects(result.resources), foundation };
}

export const one = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0];
};
