/** How a kubeconfig's user gets a short-lived token: a credential plugin run on the caller's machine. */
export interface ExecCredential {
  command: string;
  args: string[];
  /** Extra environment for the plugin (for example AWS_PROFILE). */
  env?: Record<string, string>;
  /** Shown by kubectl when the command is missing. */
  installHint: string;
}

export interface ClusterAccess {
  clusterName: string;
  /** https:// endpoint of the API server. */
  server: string;
  /** Base64 PEM of the cluster's CA. */
  caData: string;
  exec: ExecCredential;
}

/**
 * A kubeconfig whose user runs a credential plugin (`aws eks get-token`, `gke-gcloud-auth-plugin`,
 * `kubelogin`): no long-lived credential is written into it, on any cloud.
 */
export function execKubeconfig(access: ClusterAccess): string {
  const env = Object.entries(access.exec.env ?? {}).map(([name, value]) => ({ name, value }));
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: access.clusterName, cluster: { server: access.server, "certificate-authority-data": access.caData } }],
    contexts: [{ name: access.clusterName, context: { cluster: access.clusterName, user: access.clusterName } }],
    "current-context": access.clusterName,
    users: [
      {
        name: access.clusterName,
        user: {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: access.exec.command,
            args: access.exec.args,
            ...(env.length ? { env } : {}),
            installHint: access.exec.installHint,
            provideClusterInfo: false,
            interactiveMode: "Never",
          },
        },
      },
    ],
  });
}
