/**
 * The schema of the Velero custom resource the platform declares (velero.io/v1 Schedule, as the CRD of
 * the pinned chart defines it, Velero 1.17: ScheduleSpec and the BackupSpec of its template):
 * kubernetes-models ships none.
 *
 * The schema check (../schema.ts) uses this module like a kubernetes-models one: the `ISchedule`
 * interface for the strict TypeScript check (every field of the CRD at these paths, so a misspelled
 * field fails the excess-property check), and `validate()` of the `Schedule` class at run time
 * (`validateVeleroObject`): what the CRD and Velero's controller refuse that types cannot say: the cron
 * expression, the ttl's duration format, names that become label values.
 */

interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

/** velero.io/v1 BackupSpec (the Schedule's template). */
export interface IBackupSpec {
  metadata?: { labels?: Record<string, string> };
  includedNamespaces?: string[];
  excludedNamespaces?: string[];
  includedResources?: string[];
  excludedResources?: string[];
  includedClusterScopedResources?: string[];
  excludedClusterScopedResources?: string[];
  includedNamespaceScopedResources?: string[];
  excludedNamespaceScopedResources?: string[];
  labelSelector?: LabelSelector;
  orLabelSelectors?: LabelSelector[];
  snapshotVolumes?: boolean;
  ttl?: string;
  includeClusterResources?: boolean;
  hooks?: { resources?: Record<string, unknown>[] };
  storageLocation?: string;
  volumeSnapshotLocations?: string[];
  defaultVolumesToRestic?: boolean;
  defaultVolumesToFsBackup?: boolean;
  orderedResources?: Record<string, string>;
  csiSnapshotTimeout?: string;
  itemOperationTimeout?: string;
  resourcePolicy?: { apiGroup?: string; kind: string; name: string };
  snapshotMoveData?: boolean;
  datamover?: string;
  uploaderConfig?: { parallelFilesUpload?: number };
}

export interface ISchedule {
  apiVersion: "velero.io/v1";
  kind: "Schedule";
  metadata: ObjectMeta;
  spec: {
    schedule: string;
    template: IBackupSpec;
    useOwnerReferencesInBackup?: boolean;
    paused?: boolean;
    skipImmediately?: boolean;
  };
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A Go duration as Velero prints and parses it (`720h0m0s`, `168h`, `30m`). */
export const GO_DURATION = /^(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+$/;
const CRON_FIELD = /^(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*$/;
const CRON_RANGES: [number, number][] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

/** Five numeric cron fields within their ranges (robfig/cron's standard parser), or a descriptor. */
export function isCronExpression(expression: unknown): boolean {
  if (typeof expression !== "string") return false;
  if (/^@(yearly|annually|monthly|weekly|daily|midnight|hourly|every \d+(\.\d+)?(h|m|s)+)$/.test(expression.trim())) return true;
  const fields = expression.trim().split(/\s+/);
  return (
    fields.length === 5 &&
    fields.every((f, i) => {
      if (!CRON_FIELD.test(f)) return false;
      const [lo, hi] = CRON_RANGES[i];
      return f.split(",").every((part) => {
        const [range, step] = part.split("/");
        if (step !== undefined && !(Number(step) > 0)) return false;
        if (range === "*") return true;
        const [a, b = a] = range.split("-").map(Number);
        return a >= lo && b <= hi && a <= b;
      });
    })
  );
}

/** What the CRD and Velero refuse, beyond field names and types; empty when valid. */
export function validateVeleroObject(o: Record<string, any>): string[] {
  const problems: string[] = [];
  if (o.apiVersion !== "velero.io/v1") problems.push(`apiVersion must be velero.io/v1, got ${JSON.stringify(o.apiVersion)}`);
  if (o.kind !== "Schedule") problems.push(`no schema for velero kind ${JSON.stringify(o.kind)}`);
  const name = o.metadata?.name;
  // Backups carry the schedule's name as the label velero.io/schedule-name: a label value, 63 characters at most.
  if (typeof name !== "string" || !DNS1123_LABEL.test(name) || name.length > 63) problems.push(`metadata.name ${JSON.stringify(name)} must be a DNS label of at most 63 characters`);
  if (!o.metadata?.namespace) problems.push("a Schedule is namespaced (Velero's namespace): metadata.namespace is required");
  const spec = o.spec;
  if (!spec || typeof spec !== "object") return [...problems, "spec is required"];
  if (!isCronExpression(spec.schedule)) problems.push(`spec.schedule ${JSON.stringify(spec.schedule)} is not a cron expression`);
  const t = spec.template;
  if (!t || typeof t !== "object") return [...problems, "spec.template is required"];
  if (t.ttl !== undefined && (typeof t.ttl !== "string" || !GO_DURATION.test(t.ttl))) problems.push(`spec.template.ttl ${JSON.stringify(t.ttl)} is not a duration (e.g. 720h0m0s)`);
  for (const key of ["csiSnapshotTimeout", "itemOperationTimeout"]) {
    if (t[key] !== undefined && !GO_DURATION.test(t[key])) problems.push(`spec.template.${key} ${JSON.stringify(t[key])} is not a duration`);
  }
  for (const key of ["includedNamespaces", "excludedNamespaces"]) {
    for (const ns of t[key] ?? []) if (ns !== "*" && !DNS1123_LABEL.test(ns)) problems.push(`spec.template.${key}: "${ns}" is not a namespace name`);
  }
  if (t.storageLocation !== undefined && !DNS1123_LABEL.test(t.storageLocation)) problems.push(`spec.template.storageLocation "${t.storageLocation}" is not a BackupStorageLocation name`);
  if (t.defaultVolumesToRestic !== undefined && t.defaultVolumesToFsBackup !== undefined) problems.push("spec.template sets both defaultVolumesToRestic and defaultVolumesToFsBackup");
  return problems;
}

export class Schedule {
  constructor(readonly data: Record<string, any>) {}
  validate(): void {
    const problems = validateVeleroObject(this.data);
    if (problems.length) throw new Error(`Schedule is invalid:\n  ${problems.join("\n  ")}`);
  }
}
