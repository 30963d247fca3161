import { validateResourceOfType } from "@pulumi/policy";
import { resourceRule } from "../support/define";
import { platform } from "../support/frameworks";
import { walkValues } from "../support/helm";
import { resourceType } from "../support/types";

const EXACT_VERSION = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const releaseV3 = resourceType("kubernetes:helm.sh/v3:Release");
const chartV4 = resourceType("kubernetes:helm.sh/v4:Chart");

function check(props: Record<string, any>, label: string, report: (m: string) => void): void {
  const chart = String(props.chart ?? "");
  const version = props.version;
  if (!EXACT_VERSION.test(String(version ?? ""))) report(`${label} (chart "${chart}") is not pinned to an exact version (got ${JSON.stringify(version ?? null)}): set version to x.y.z`);
  if (props.devel === true) report(`${label} accepts development versions (devel: true)`);
  const repo: string | undefined = props.repositoryOpts?.repo ?? props.repositoryOpts?.repository;
  const source = repo ?? (chart.includes("://") ? chart : undefined);
  if (source && !/^(https|oci):\/\//.test(source)) report(`${label} downloads its chart over an insecure or unverifiable source "${source}": use https:// or oci://`);
  walkValues(props.values, (object, path) => {
    if (object.tag === "latest") report(`${label} overrides ${path || "an image"}.tag with "latest": pin a version or leave the chart's default`);
    if (typeof object.image === "string" && /:latest(@|$)/.test(object.image)) report(`${label} sets ${path}.image to "${object.image}": latest is not a version`);
  });
}

/**
 * A Helm release is one resource to the engine: the images, Services and pods its chart renders are
 * not visible to the other rules. What is governed is the chart version (which fixes the chart's
 * images), the chart's source, and the values that override images.
 */
export const workloadsHelmChartPinned = resourceRule(
  {
    name: "workloads-helm-chart-pinned",
    description:
      "Every Helm chart is installed at an exact version from an https or OCI repository, and its values never override an image with latest. The chart version fixes the images of third-party software (Prometheus, Grafana...), so they change only when the pin moves in review. Charts rendered by the v4 Chart component are also seen object by object by the other rules.",
    severity: "high",
    framework: platform("Software supply chain: pinned third-party charts"),
    clouds: ["kubernetes"],
    enforcementLevel: "mandatory",
    remediationSteps: "Set version to the exact chart version (x.y.z), repositoryOpts.repo to an https:// or oci:// URL, and remove image tag overrides set to latest.",
  },
  [
    validateResourceOfType(releaseV3, (props, args, report) => check(props, `Helm release "${args.name}"`, report)),
    validateResourceOfType(chartV4, (props, args, report) => check(props, `Helm chart "${args.name}"`, report)),
  ],
);
