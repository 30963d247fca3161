import { z } from "zod";
import { kubernetesVersion, postgresVersion } from "../../config-fields";

const quantity = z.string().regex(/^\d+(Mi|Gi|Ti)$/, "expected a volume size such as 5Gi");

/** The local keys of `mlops:cluster` and `mlops:database`: which cluster, and how big its volumes are. No network of ours. */
export const localSettingsSchema = z
  .object({
    network: z.object({}).strict().default({}),
    cluster: z
      .object({
        /** The cluster's minor version (the node image kind/k3d/minikube runs). */
        kubernetesVersion,
        /** kubeconfig context (`kind-mlops`, `k3d-mlops`, `minikube`, `docker-desktop`); unset: the current context. */
        context: z.string().min(1).optional(),
        /** kubeconfig file; unset: $KUBECONFIG, else ~/.kube/config. */
        kubeconfigPath: z.string().min(1).optional(),
        /** kind ships no metrics-server; k3d, minikube (addon) and Docker Desktop may: set false there. */
        installMetricsServer: z.boolean().default(true),
        /** StorageClass of the volumes: kind and minikube `standard`, k3d `local-path`. */
        storageClassName: z.string().min(1).optional(),
      })
      .strict()
      .default({ kubernetesVersion: "1.33", installMetricsServer: true }),
    database: z
      .object({
        engineVersion: postgresVersion,
        storageSize: quantity.default("5Gi"),
      })
      .strict()
      .default({ engineVersion: "16", storageSize: "5Gi" }),
  })
  .strict();

export type LocalSettings = z.infer<typeof localSettingsSchema>;
