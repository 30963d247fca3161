/**
 * Turns request bodies into staged rows for the window, validating everything first: the prediction-event
 * contract (services/common events.ts), the model name, and every feature/output against the reference
 * profile (names and types). Any problem rejects the whole batch with a 4xx before the window is touched.
 *
 * The hot path checks the contract with services/common's fast check and runs the zod schema only for a
 * batch that fails it, to word the error; the profile checks are done by hand on the values.
 */
import { HttpError, isValidPredictionEventFast, predictionEventSchema, type Variant } from "@mlops/common";
import type { ColumnProfile } from "../profile/schema";
import type { StagedRows, WindowColumns } from "./window";

/** A rejected request: HTTP status/code for the caller, `reason` for the metric, events in it. */
export class IngestError extends HttpError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly reason: string,
    readonly events: number,
  ) {
    super(status, code, message);
    this.name = "IngestError";
  }
}

interface ColumnRef {
  name: string;
  kind: "numeric" | "categorical";
  role: "feature" | "output";
  /** Index among the numeric or among the categorical columns. */
  slot: number;
}

export interface IngestResult {
  staged: StagedRows;
  accepted: number;
  skipped: number;
}

type Json = Record<string, unknown>;

const VALUE_KINDS: Record<string, string> = {
  features: "a number, string, boolean or null",
  outputs: "a number, string, boolean, null or an array of numbers",
};

const hasOwn = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key);
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const describe = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "string" ? "a string" : typeof v);

/** Converts one value for a column: number (NaN = missing) or string (null = missing); a string = the problem. */
export function convertValue(col: { name: string; kind: "numeric" | "categorical" }, value: unknown): { ok: true; value: number | string | null } | { ok: false; problem: string } {
  if (value === null || value === undefined) return { ok: true, value: col.kind === "numeric" ? NaN : null };
  if (col.kind === "numeric") {
    if (typeof value === "number" && Number.isFinite(value)) return { ok: true, value };
    return { ok: false, problem: `"${col.name}" must be a number or null, got ${describe(value)}` };
  }
  if (typeof value === "string") return { ok: true, value };
  if (typeof value === "number" || typeof value === "boolean") return { ok: true, value: String(value) };
  return { ok: false, problem: `"${col.name}" must be a string, number, boolean or null, got ${describe(value)}` };
}

export class EventIngestor {
  readonly windowColumns: WindowColumns;
  private readonly features: ColumnRef[];
  private readonly outputs: ColumnRef[];
  private readonly featureNames: ReadonlySet<string>;

  constructor(
    columns: readonly ColumnProfile[],
    private readonly options: { model: string; variants: ReadonlySet<Variant>; maxEvents: number },
  ) {
    const numeric: string[] = [];
    const categorical: string[] = [];
    const refs = columns.map((c): ColumnRef => {
      const list = c.kind === "numeric" ? numeric : categorical;
      list.push(c.name);
      return { name: c.name, kind: c.kind, role: c.role, slot: list.length - 1 };
    });
    this.windowColumns = { numeric, categorical };
    this.features = refs.filter((r) => r.role === "feature");
    this.outputs = refs.filter((r) => r.role === "output");
    this.featureNames = new Set(this.features.map((f) => f.name));
  }

  /** Parses and validates a `{"events": [...]}` body. */
  ingest(body: Buffer): IngestResult {
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString("utf8"));
    } catch (err) {
      throw new IngestError(400, "INVALID_JSON", `request body is not valid JSON: ${(err as Error).message}`, "invalid_json", 1);
    }
    if (!isObject(doc) || !Array.isArray(doc.events)) {
      throw new IngestError(400, "INVALID_BATCH", 'expected a JSON object {"events": [...]}', "invalid_batch", 1);
    }
    const events = doc.events as unknown[];
    const n = events.length;
    if (n === 0) throw new IngestError(400, "INVALID_BATCH", '"events" is empty: send at least one event', "invalid_batch", 0);
    if (n > this.options.maxEvents) {
      throw new IngestError(413, "BATCH_TOO_LARGE", `batch holds ${n} events; at most ${this.options.maxEvents} are accepted per request`, "too_large", n);
    }
    const kept: number[] = [];
    for (let i = 0; i < n; i++) {
      const event = events[i];
      this.checkEnvelope(event, i, n);
      if (this.options.variants.has((event as Json).variant as Variant)) kept.push(i);
    }
    const staged = this.stage(events as Json[], kept);
    return { staged, accepted: kept.length, skipped: n - kept.length };
  }

  private fail(n: number, index: number, event: unknown, code: string, reason: string, problem: string): never {
    const id = isObject(event) && typeof event.id === "string" ? ` (id ${JSON.stringify(event.id.slice(0, 80))})` : "";
    throw new IngestError(400, code, `events[${index}]${id}: ${problem}; the batch was not accepted`, reason, n);
  }

  /** The contract of services/common events.ts, and the model this detector serves. */
  private checkEnvelope(event: unknown, i: number, n: number): void {
    if (!isValidPredictionEventFast(event)) {
      const result = predictionEventSchema.safeParse(event);
      const issue = result.success ? undefined : result.error.issues[0];
      const where = issue && issue.path.length > 0 ? `"${issue.path.join(".")}": ` : "";
      // zod words failed unions as "Invalid input": say what the contract allows instead.
      const values = issue?.path.length === 2 ? VALUE_KINDS[String(issue.path[0])] : undefined;
      const message = values ? `expected ${values}` : (issue?.message ?? "not a prediction event");
      this.fail(n, i, event, "INVALID_EVENT", "invalid_event", `${where}${message}`);
    }
    const e = event as Json;
    if (e.model !== this.options.model) {
      this.fail(n, i, event, "WRONG_MODEL", "wrong_model", `event is for model "${e.model}"; this drift detector watches "${this.options.model}"`);
    }
  }

  /** Checks features/outputs of the kept events against the profile and converts them to columns. */
  private stage(events: Json[], kept: number[]): StagedRows {
    const n = events.length;
    const rows = kept.length;
    const numeric = this.windowColumns.numeric.map(() => new Float64Array(rows));
    const categorical = this.windowColumns.categorical.map(() => new Array<string | null>(rows));
    for (let r = 0; r < rows; r++) {
      const index = kept[r];
      const event = events[index];
      const features = event.features as Json;
      for (const col of this.features) {
        const v = features[col.name];
        // A number is always an own property; anything else might come from Object.prototype.
        if ((typeof v !== "number" || col.kind !== "numeric") && !hasOwn(features, col.name)) {
          this.fail(n, index, event, "MISSING_FEATURE", "missing_feature", `feature "${col.name}" is missing (send null for a missing value)`);
        }
        this.put(col, v, r, numeric, categorical, n, index, event);
      }
      // More keys than features means at least one unknown name: find it for the message.
      let keys = 0;
      for (const key in features) if (hasOwn(features, key)) keys++;
      if (keys !== this.features.length) {
        const unknown = Object.keys(features).filter((k) => !this.featureNames.has(k));
        this.fail(n, index, event, "UNKNOWN_FEATURE", "unknown_feature", `unknown feature(s) ${unknown.map((k) => JSON.stringify(k)).join(", ")}; the reference has ${[...this.featureNames].join(", ")}`);
      }
      const outputs = event.outputs as Json;
      for (const col of this.outputs) {
        if (!hasOwn(outputs, col.name)) this.fail(n, index, event, "MISSING_OUTPUT", "missing_output", `output "${col.name}" is missing`);
        this.put(col, outputs[col.name], r, numeric, categorical, n, index, event);
      }
    }
    return { rows, numeric, categorical };
  }

  private put(col: ColumnRef, v: unknown, r: number, numeric: Float64Array[], categorical: (string | null)[][], n: number, index: number, event: Json): void {
    if (col.kind === "numeric") {
      if (typeof v === "number") {
        numeric[col.slot][r] = v;
        return;
      }
      if (v === null) {
        numeric[col.slot][r] = NaN;
        return;
      }
    }
    const converted = convertValue(col, v);
    if (!converted.ok) this.fail(n, index, event, "WRONG_TYPE", "wrong_type", `${col.role} ${converted.problem}`);
    if (col.kind === "numeric") numeric[col.slot][r] = converted.value as number;
    else categorical[col.slot][r] = converted.value as string | null;
  }
}
