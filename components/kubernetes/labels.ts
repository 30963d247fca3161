/** The `app.kubernetes.io/*` recommended labels every object of the platform carries. */
export const PART_OF = "mlops-platform";

export interface LabelArgs {
  /** The application, e.g. `serving`, `mlflow`. */
  name: string;
  /** This instance of it, e.g. `serving-fraud-detector`. */
  instance: string;
  /** Its role in the platform, e.g. `model-serving`. */
  component: string;
  /** The image tag it runs, when it runs one. */
  version?: string;
}

export function recommendedLabels(args: LabelArgs): Record<string, string> {
  const labels: Record<string, string> = {
    "app.kubernetes.io/name": args.name,
    "app.kubernetes.io/instance": args.instance,
    "app.kubernetes.io/component": args.component,
    "app.kubernetes.io/part-of": PART_OF,
    "app.kubernetes.io/managed-by": "pulumi",
  };
  if (args.version) labels["app.kubernetes.io/version"] = labelValue(args.version);
  return labels;
}

/** The subset used in selectors: it never changes during the life of a workload (selectors are immutable). */
export function selectorLabels(args: Pick<LabelArgs, "name" | "instance">): Record<string, string> {
  return { "app.kubernetes.io/name": args.name, "app.kubernetes.io/instance": args.instance };
}

/** Label values are at most 63 characters of [A-Za-z0-9_.-], starting and ending alphanumeric. */
export function labelValue(value: string): string {
  return value.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
}
