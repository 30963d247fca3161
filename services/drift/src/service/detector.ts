/**
 * The drift detector of one model: reference profile, live window, evaluations (periodic and on demand),
 * metrics and webhooks on a change of the dataset-drift verdict.
 */
import type { Logger, Variant } from "@mlops/common";
import { HttpError } from "@mlops/common";
import { checkConfigAgainstProfile, type DriftConfig } from "../drift/config";
import { evaluate, type CurrentData } from "../drift/evaluate";
import type { DriftReport } from "../drift/report";
import { prepareReference, type PreparedReference } from "../profile/prepared";
import type { Profile } from "../profile/schema";
import { convertValue, EventIngestor, IngestError, type RefusedEventAnswer } from "./ingest";
import type { DriftMetrics } from "./metrics";
import { verdictChange, type WebhookNotifier } from "./webhooks";
import { SlidingWindow } from "./window";

export interface DetectorSettings {
  model: string;
  config: DriftConfig;
  variants: ReadonlySet<Variant>;
  windowMaxRows: number;
  windowDurationMs: number;
  maxCategories: number;
  maxBatchEvents: number;
}

interface Active {
  reference: PreparedReference;
  uri: string;
  ingestor: EventIngestor;
  window: SlidingWindow;
}

export class DriftDetector {
  private active: Active | null = null;
  private latest: DriftReport | null = null;
  private lastVerdict: boolean | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly settings: DetectorSettings,
    private readonly metrics: DriftMetrics,
    private readonly notifier: WebhookNotifier,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  get ready(): boolean {
    return this.active !== null;
  }

  get referenceUri(): string | null {
    return this.active?.uri ?? null;
  }

  /** Installs a reference; the window survives when the columns stay the same. */
  setReference(profile: Profile, uri: string): void {
    checkConfigAgainstProfile(this.settings.config, profile);
    const reference = prepareReference(profile);
    const ingestor = new EventIngestor(profile.columns, { model: this.settings.model, variants: this.settings.variants, maxEvents: this.settings.maxBatchEvents });
    const same =
      this.active !== null &&
      JSON.stringify(this.active.ingestor.windowColumns) === JSON.stringify(ingestor.windowColumns) &&
      JSON.stringify(this.active.reference.profile.columns.map((c) => [c.name, c.role])) === JSON.stringify(profile.columns.map((c) => [c.name, c.role]));
    const window = same
      ? this.active!.window
      : new SlidingWindow(ingestor.windowColumns, this.settings.windowMaxRows, this.settings.windowDurationMs, this.settings.maxCategories);
    this.active = { reference, uri, ingestor, window };
    this.latest = null;
    this.metrics.setReference(uri, profile.createdAt);
    this.metrics.windowRows.set({ model: this.settings.model }, window.size);
    this.logger.info({ uri, columns: profile.columns.length, rows: profile.source.rows, keptWindow: same }, "reference profile loaded");
  }

  private require(): Active {
    if (!this.active) throw new HttpError(503, "REFERENCE_NOT_READY", "the reference profile is not loaded yet");
    return this.active;
  }

  /** Validates a batch and adds its valid events to the window; the others are refused one by one. */
  ingest(body: Buffer): { accepted: number; skipped: number; refused: RefusedEventAnswer[]; windowRows: number } {
    const active = this.require();
    const model = this.settings.model;
    let result;
    try {
      result = active.ingestor.ingest(body);
    } catch (err) {
      if (err instanceof IngestError) this.metrics.rejected.inc({ model, reason: err.reason }, err.events);
      throw err;
    }
    const now = this.now();
    active.window.append(result.staged, now);
    active.window.evict(now);
    this.metrics.ingested.inc({ model }, result.accepted);
    if (result.skipped > 0) this.metrics.skipped.inc({ model, reason: "variant" }, result.skipped);
    for (const [reason, count] of result.refusedReasons) this.metrics.rejected.inc({ model, reason }, count);
    this.metrics.windowRows.set({ model }, active.window.size);
    return { accepted: result.accepted, skipped: result.skipped, refused: result.refused, windowRows: active.window.size };
  }

  /** Evaluates the window now, publishes metrics, notifies on a verdict change. */
  evaluateWindow(): DriftReport {
    const active = this.require();
    const model = this.settings.model;
    active.window.evict(this.now());
    this.metrics.windowRows.set({ model }, active.window.size);
    const started = performance.now();
    let report: DriftReport;
    try {
      report = evaluate(active.reference, active.window.snapshot(), this.settings.config, { model, referenceUri: active.uri, now: new Date(this.now()) });
    } catch (err) {
      this.metrics.evaluations.inc({ model, status: "error" });
      throw err;
    }
    this.metrics.publish(report, (performance.now() - started) / 1000);
    this.latest = report;
    if (report.status === "ok" && report.datasetDrift !== null) {
      const previous = this.lastVerdict;
      const changed = previous === null ? report.datasetDrift : previous !== report.datasetDrift;
      this.lastVerdict = report.datasetDrift;
      if (changed) {
        this.logger.info({ datasetDrift: report.datasetDrift, share: report.driftShare, severity: report.severity }, "drift verdict changed");
        if (this.notifier.enabled) this.notifier.notify(verdictChange(report, previous));
      }
    }
    this.logger.debug({ status: report.status, rows: report.current.rows, share: report.driftShare, ms: report.durationMs }, "window evaluated");
    return report;
  }

  /** The last report, evaluating once when there is none yet. */
  latestReport(): DriftReport {
    return this.latest ?? this.evaluateWindow();
  }

  /** Ad hoc comparison of data in a request body against the reference; the window is not touched. */
  detect(doc: unknown): DriftReport {
    const active = this.require();
    const current = adhocCurrent(active.reference, doc);
    return evaluate(active.reference, current, this.settings.config, { model: this.settings.model, referenceUri: active.uri, now: new Date(this.now()) });
  }

  start(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(() => {
      if (!this.active) return;
      try {
        this.evaluateWindow();
      } catch (err) {
        this.logger.error({ err }, "evaluation failed");
      }
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * The body of POST /v1/drift/detect: `{"rows": [{"<column>": value, ...}, ...]}` or
 * `{"columns": {"<column>": [values...]}}`. Every feature must be present; outputs may be left out.
 */
export function adhocCurrent(reference: PreparedReference, doc: unknown): CurrentData {
  const bad = (message: string) => new HttpError(400, "INVALID_DETECT_REQUEST", message);
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw bad('expected {"rows": [...]} or {"columns": {...}}');
  const body = doc as { rows?: unknown; columns?: unknown };
  let rows: number;
  let get: (name: string, r: number) => unknown;
  let has: (name: string) => boolean;
  if (Array.isArray(body.rows)) {
    const list = body.rows as unknown[];
    list.forEach((row, i) => {
      if (typeof row !== "object" || row === null || Array.isArray(row)) throw bad(`rows[${i}] must be an object of column values`);
    });
    const known = new Set(reference.order);
    list.forEach((row, i) => {
      for (const key of Object.keys(row as object)) if (!known.has(key)) throw bad(`rows[${i}]: unknown column "${key}"; the reference has ${reference.order.join(", ")}`);
    });
    rows = list.length;
    has = (name) => list.length === 0 || list.some((row) => Object.prototype.hasOwnProperty.call(row, name));
    get = (name, r) => (list[r] as Record<string, unknown>)[name];
  } else if (typeof body.columns === "object" && body.columns !== null && !Array.isArray(body.columns)) {
    const cols = body.columns as Record<string, unknown>;
    const lengths = new Set<number>();
    for (const [key, values] of Object.entries(cols)) {
      if (!reference.columns.has(key)) throw bad(`unknown column "${key}"; the reference has ${reference.order.join(", ")}`);
      if (!Array.isArray(values)) throw bad(`columns.${key} must be an array`);
      lengths.add(values.length);
    }
    if (lengths.size > 1) throw bad("all columns must have the same length");
    rows = lengths.size === 1 ? [...lengths][0] : 0;
    has = (name) => Object.prototype.hasOwnProperty.call(cols, name);
    get = (name, r) => (cols[name] as unknown[])[r];
  } else {
    throw bad('expected {"rows": [...]} or {"columns": {...}}');
  }
  const current: CurrentData = { rows, numeric: new Map(), categorical: new Map() };
  for (const name of reference.order) {
    const col = reference.columns.get(name)!.column;
    const present = has(name);
    if (!present && col.role === "feature") throw bad(`feature "${name}" is missing from the request`);
    if (col.kind === "numeric") {
      const values = new Float64Array(rows).fill(NaN);
      if (present) {
        for (let r = 0; r < rows; r++) {
          const c = convertValue(col, get(name, r));
          if (!c.ok) throw bad(`row ${r}: ${c.problem}`);
          values[r] = c.value as number;
        }
      }
      current.numeric.set(name, values);
    } else {
      const counts = new Map<string, number>();
      let missing = present ? 0 : rows;
      if (present) {
        for (let r = 0; r < rows; r++) {
          const c = convertValue(col, get(name, r));
          if (!c.ok) throw bad(`row ${r}: ${c.problem}`);
          if (c.value === null) missing++;
          else counts.set(c.value as string, (counts.get(c.value as string) ?? 0) + 1);
        }
      }
      current.categorical.set(name, { counts, missing });
    }
  }
  return current;
}
