import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/**
 * A chart pin as each component declares it, next to its code (`KUBE_PROMETHEUS_STACK`, `VELERO_CHART`,
 * ...): the chart, its exact version (the policy `workloads-helm-chart-pinned` refuses a range), the
 * repository it comes from and the Helm release name.
 */
export interface ChartPin {
  /** The chart's name in `repo`, or an `oci://` reference (then without `repo`). */
  readonly chart: string;
  readonly version: string;
  /** The chart repository; absent for an `oci://` chart. */
  readonly repo?: string;
  /** The Helm release name (the chart names its objects after it). */
  readonly release: string;
}

export interface PinnedReleaseArgs {
  pin: ChartPin;
  /** The release's namespace: one the component declares itself (its Pod Security labels and NetworkPolicies). */
  namespace: pulumi.Input<string>;
  values?: k8s.helm.v3.ReleaseArgs["values"];
  /** Seconds Helm waits for the release's objects; default {@link DEFAULT_TIMEOUT_SECONDS}. */
  timeout?: number;
  /**
   * Helm never creates the namespace: the component declares it. Releases that already state this pass
   * `false` (it is part of their recorded inputs); the others leave it unset, which means the same.
   */
  createNamespace?: false;
  /** Whether Helm skips the chart's `crds/` directory (`true`: another release owns the CRDs). Unset: Helm's default, installed. */
  skipCrds?: boolean;
}

/**
 * Helm's own default (300 s) is short for the CRD-heavy charts (the CRDs, then the operators and their
 * webhooks must be ready before the atomic release counts as installed). A release that needs less or
 * more passes its own `timeout`.
 */
export const DEFAULT_TIMEOUT_SECONDS = 600;

/**
 * Revisions Helm keeps per release. Each revision is a Secret in the release's namespace holding the whole
 * rendered manifest: bounded, they do not pile up release after release, and the last few remain for a
 * `helm rollback`.
 */
export const MAX_HISTORY = 5;

/**
 * A Helm release of a pinned chart, with the settings every platform release shares:
 * - `atomic` and `cleanupOnFail`: a failed install or upgrade rolls back to the previous revision (and
 *   deletes what the failed upgrade created) instead of leaving a half-applied release behind;
 * - `maxHistory` {@link MAX_HISTORY}: a bounded number of release Secrets;
 * - `timeout` {@link DEFAULT_TIMEOUT_SECONDS} unless given: long enough for CRD-heavy charts.
 *
 * The resource is a plain `k8s.helm.v3.Release` named `name` with `opts` as given (no component of its
 * own), so its URN and inputs are exactly those of a release declared by hand.
 */
export function pinnedRelease(name: string, args: PinnedReleaseArgs, opts?: pulumi.CustomResourceOptions): k8s.helm.v3.Release {
  const { pin } = args;
  return new k8s.helm.v3.Release(
    name,
    {
      name: pin.release,
      chart: pin.chart,
      version: pin.version,
      ...(pin.repo === undefined ? {} : { repositoryOpts: { repo: pin.repo } }),
      namespace: args.namespace,
      ...(args.createNamespace === undefined ? {} : { createNamespace: args.createNamespace }),
      ...(args.skipCrds === undefined ? {} : { skipCrds: args.skipCrds }),
      atomic: true,
      cleanupOnFail: true,
      timeout: args.timeout ?? DEFAULT_TIMEOUT_SECONDS,
      maxHistory: MAX_HISTORY,
      ...(args.values === undefined ? {} : { values: args.values }),
    },
    opts,
  );
}
