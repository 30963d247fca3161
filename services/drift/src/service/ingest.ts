/**
 * Turns request bodies into staged rows for the window, validating every event first: the
 * prediction-event contract (services/common events.ts), the model name, and every feature/output against
 * the reference profile (names and types). A body that is no batch at all is refused whole (4xx) before
 * the window is touched; a bad event is refused alone and listed in the answer (`refused`: index, id,
 * code, error), the batch's other events are ingested. One event with an over-long id, or a value the
 * reference does not take, must not cost the predictions that came with it.
 *
 * The hot path checks the contract with services/common's fast check (splitEventBatch) and runs the zod
 * schema only for an event that fails it, to word the error; the profile checks are done by hand on the
 * values.
 */
import { HttpError, predictionEventSchema, splitEventBatch, type RefusedEvent, type Variant } from "@mlops/common";
import type { ColumnProfile } from "../profile/schema";
import type { StagedRows, WindowColumns } from "./window";

/** A refused request: HTTP status/code for the caller, `reason` for the metric, events in it. */
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

/** One refused event of an accepted batch, as the answer lists it (common's RefusedEvent plus the machine code). */
export interface RefusedEventAnswer extends RefusedEvent {
  code: string;
}

/** Why one event is refused: its code for the answer, `reason` for the rejection metric. */
class EventProblem extends Error {
  constructor(
    readonly code: string,
    readonly reason: string,
    message: string,
  ) {
    super(message);
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
  /** The events refused one by one, in batch order. */
  refused: RefusedEventAnswer[];
  /** Refused events per metric reason. */
  refusedReasons: Map<string, number>;
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

  /** Parses a `{"events": [...]}` body: the valid events staged, the others refused one by one. */
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
    const all = doc.events as unknown[];
    const n = all.length;
    if (n === 0) throw new IngestError(400, "INVALID_BATCH", '"events" is empty: send at least one event', "invalid_batch", 0);
    if (n > this.options.maxEvents) {
      throw new IngestError(413, "BATCH_TOO_LARGE", `batch holds ${n} events; at most ${this.options.maxEvents} are accepted per request`, "too_large", n);
    }
    const split = splitEventBatch(doc);
    if ("notABatch" in split) throw new IngestError(400, "INVALID_BATCH", split.notABatch, "invalid_batch", n);

    const refused: RefusedEventAnswer[] = [];
    const refusedReasons = new Map<string, number>();
    const refuse = (index: number, problem: EventProblem) => {
      const event = all[index];
      const id = isObject(event) && typeof event.id === "string" && event.id.length <= 256 ? event.id : undefined;
      refused.push({ index, ...(id !== undefined ? { id } : {}), code: problem.code, error: problem.message });
      refusedReasons.set(problem.reason, (refusedReasons.get(problem.reason) ?? 0) + 1);
    };
    // The contract (split refused those events, our wording says why), the model this detector serves,
    // then the variants it watches. Indexes, not copies: the batch's own objects are staged.
    const refusedByContract = split.refused.length > 0 ? new Set(split.refused.map((r) => r.index)) : undefined;
    const kept: number[] = [];
    let skipped = 0;
    for (let index = 0; index < n; index++) {
      if (refusedByContract?.has(index)) {
        refuse(index, contractProblem(all[index]));
        continue;
      }
      const event = all[index] as Json;
      if (event.model !== this.options.model) {
        refuse(index, new EventProblem("WRONG_MODEL", "wrong_model", `event is for model "${event.model}"; this drift detector watches "${this.options.model}"`));
      } else if (this.options.variants.has(event.variant as Variant)) kept.push(index);
      else skipped++;
    }
    const staged = this.stage(all as Json[], kept, refuse);
    if (refused.length > 1) refused.sort((a, b) => a.index - b.index);
    return { staged, accepted: staged.rows, skipped, refused, refusedReasons };
  }

  /**
   * Checks features/outputs of the kept events against the profile and converts them to columns. An
   * event with a problem is refused (its partly written row is overwritten by the next event).
   */
  private stage(events: Json[], kept: number[], refuse: (index: number, problem: EventProblem) => void): StagedRows {
    const numeric = this.windowColumns.numeric.map(() => new Float64Array(kept.length));
    const categorical = this.windowColumns.categorical.map(() => new Array<string | null>(kept.length));
    let r = 0;
    for (const index of kept) {
      try {
        this.stageRow(events[index], r, numeric, categorical);
        r++;
      } catch (err) {
        if (!(err instanceof EventProblem)) throw err;
        refuse(index, err);
      }
    }
    if (r === kept.length) return { rows: r, numeric, categorical };
    for (const column of categorical) column.length = r;
    return { rows: r, numeric: numeric.map((column) => column.subarray(0, r)), categorical };
  }

  private stageRow(event: Json, r: number, numeric: Float64Array[], categorical: (string | null)[][]): void {
    const features = event.features as Json;
    for (const col of this.features) {
      const v = features[col.name];
      // A number is always an own property; anything else might come from Object.prototype.
      if ((typeof v !== "number" || col.kind !== "numeric") && !hasOwn(features, col.name)) {
        throw new EventProblem("MISSING_FEATURE", "missing_feature", `feature "${col.name}" is missing (send null for a missing value)`);
      }
      this.put(col, v, r, numeric, categorical);
    }
    // More keys than features means at least one unknown name: find it for the message.
    let keys = 0;
    for (const key in features) if (hasOwn(features, key)) keys++;
    if (keys !== this.features.length) {
      const unknown = Object.keys(features).filter((key) => !this.featureNames.has(key));
      throw new EventProblem("UNKNOWN_FEATURE", "unknown_feature", `unknown feature(s) ${unknown.map((key) => JSON.stringify(key)).join(", ")}; the reference has ${[...this.featureNames].join(", ")}`);
    }
    const outputs = event.outputs as Json;
    for (const col of this.outputs) {
      if (!hasOwn(outputs, col.name)) throw new EventProblem("MISSING_OUTPUT", "missing_output", `output "${col.name}" is missing`);
      this.put(col, outputs[col.name], r, numeric, categorical);
    }
  }

  private put(col: ColumnRef, v: unknown, r: number, numeric: Float64Array[], categorical: (string | null)[][]): void {
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
    if (!converted.ok) throw new EventProblem("WRONG_TYPE", "wrong_type", `${col.role} ${converted.problem}`);
    if (col.kind === "numeric") numeric[col.slot][r] = converted.value as number;
    else categorical[col.slot][r] = converted.value as string | null;
  }
}

/** What the contract (common events.ts) finds wrong with an event, worded for a person. */
function contractProblem(event: unknown): EventProblem {
  const result = predictionEventSchema.safeParse(event);
  const issue = result.success ? undefined : result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `"${issue.path.join(".")}": ` : "";
  // zod words failed unions as "Invalid input": say what the contract allows instead.
  const values = issue?.path.length === 2 ? VALUE_KINDS[String(issue.path[0])] : undefined;
  const message = values ? `expected ${values}` : (issue?.message ?? "not a prediction event");
  return new EventProblem("INVALID_EVENT", "invalid_event", `${where}${message}`);
}
