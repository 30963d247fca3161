import { LocalFoundation } from "../../../components/local";
import { MLFLOW_SERVICE_ACCOUNT, type BuiltFoundation, type FoundationRequest } from "../target";
import type { LocalSettings } from "./settings";

/** Images built on the machine and loaded into the cluster (`kind load docker-image`). */
const LOCAL_REGISTRY = "localhost/mlops";
/** A laptop's database: small, and bounded so it cannot starve the services next to it. */
const LOCAL_DATABASE_RESOURCES = { cpuRequest: "100m", memoryRequest: "256Mi", cpuLimit: "1", memoryLimit: "1Gi" };

/** PostgreSQL in the cluster, artifacts on a volume, metrics-server where the cluster has none. */
export async function buildLocalFoundation(req: FoundationRequest<LocalSettings>): Promise<BuiltFoundation> {
  const { settings: s } = req;
  const component = new LocalFoundation(req.name, {
    context: s.cluster.context,
    kubeconfigPath: s.cluster.kubeconfigPath,
    kubernetesVersion: s.cluster.kubernetesVersion,
    storageClassName: s.cluster.storageClassName,
    installMetricsServer: s.cluster.installMetricsServer,
    database: {
      postgresVersion: s.database.engineVersion,
      storageSize: s.database.storageSize,
      resources: LOCAL_DATABASE_RESOURCES,
    },
    artifactStore: { size: "10Gi" },
    imageRegistry: LOCAL_REGISTRY,
    mlflowServiceAccount: MLFLOW_SERVICE_ACCOUNT,
    labels: req.tags,
  });
  return { component, defaultImageRegistry: LOCAL_REGISTRY };
}
