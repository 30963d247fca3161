import { RepeatFilter, type Logger } from "@mlops/common";
import type { Gauge } from "prom-client";
import { TrafficSplit } from "./routing";

/**
 * The registered model's tag in which the platform API's `POST /models/{id}/deploy` records the share
 * of traffic it granted a challenger (services/api/src/models/registry.ts MODEL_TAGS.challengerWeight).
 */
export const CHALLENGER_WEIGHT_TAG = "mlops.challenger_weight";

/** Where the weight in use comes from: the registry's tag, or CHALLENGER_WEIGHT. */
export type WeightSource = "tag" | "config";

export interface ChallengerWeightOptions {
  model: string;
  /** CHALLENGER_WEIGHT: the weight while the tag is absent (and for a URI that is no registry alias). */
  configured: number;
  /** MAX_CHALLENGER_WEIGHT: no weight above it is applied, whatever its source. */
  cap: number;
  /** SHADOW=true: the challenger answers nothing, so the weight stays 0. */
  shadow: boolean;
  /** `mlops_serving_challenger_weight_percent{model}`; none: no challenger, no series. */
  gauge?: Gauge;
  logger: Logger;
}

/** A tag value as the API writes it (`String(weight)`): a plain decimal number 0-100, else undefined. */
export function parseWeightTag(value: string): number | undefined {
  if (!/^\s*\d+(\.\d+)?\s*$/.test(value)) return undefined;
  const weight = Number(value);
  return weight >= 0 && weight <= 100 ? weight : undefined;
}

/**
 * The challenger's share of live traffic, applied to the data plane's TrafficSplit: CHALLENGER_WEIGHT at
 * start, then, for a registry alias URI, the registered model's `mlops.challenger_weight` tag as each
 * registry poll reads it (the tag removed: CHALLENGER_WEIGHT again). Whatever the source, at most
 * MAX_CHALLENGER_WEIGHT, and 0 in shadow mode. A tag that is not a number 0-100 is ignored with a
 * warning (the weight in use stays), as is a registry that cannot be asked. Each change is logged
 * (from, to, source) and shown in the gauge.
 */
export class ChallengerWeight {
  readonly split: TrafficSplit;
  private currentSource: WeightSource = "config";
  /** The bad tag value last warned about (warned once per distinct value, not at every poll). */
  private ignoredTag?: string;
  private readonly readFailures = new RepeatFilter();

  constructor(private readonly opts: ChallengerWeightOptions) {
    this.split = new TrafficSplit(this.capped(opts.configured));
    opts.gauge?.labels(opts.model).set(this.split.weight);
    if (!opts.shadow && opts.configured > opts.cap) {
      opts.logger.warn({ model: opts.model, configured: opts.configured, cap: opts.cap }, "CHALLENGER_WEIGHT is above MAX_CHALLENGER_WEIGHT: the challenger gets the cap");
    }
  }

  /** The share in percent the split sends to the challenger now. */
  get percent(): number {
    return this.split.weight;
  }

  get source(): WeightSource {
    return this.currentSource;
  }

  /**
   * One registry poll: `read` returns the tag's value (undefined: not set, or no registered model yet).
   * A failed read keeps the weight in use and is logged once per distinct reason; `failed` hears of each
   * (the registry error counter). Never throws.
   */
  async refresh(read: () => Promise<string | undefined>, failed?: (err: Error) => void): Promise<void> {
    let tag: string | undefined;
    try {
      tag = await read();
    } catch (err) {
      const message = (err as Error).message;
      if (this.readFailures.isNew(message)) {
        this.opts.logger.warn({ model: this.opts.model, err: message, weight: this.percent, source: this.currentSource }, `could not read the registry's ${CHALLENGER_WEIGHT_TAG} tag; the challenger weight in use stays`);
      }
      failed?.(err as Error);
      return;
    }
    const failures = this.readFailures.reset();
    if (failures) this.opts.logger.info({ model: this.opts.model, failedReads: failures }, `the registry's ${CHALLENGER_WEIGHT_TAG} tag can be read again`);
    this.apply(tag);
  }

  /** Applies the tag's value as one poll saw it: undefined (absent) falls back to CHALLENGER_WEIGHT. */
  apply(tag: string | undefined): void {
    if (tag === undefined) {
      this.ignoredTag = undefined;
      this.use(this.opts.configured, "config");
      return;
    }
    const requested = parseWeightTag(tag);
    if (requested === undefined) {
      if (tag !== this.ignoredTag) {
        this.ignoredTag = tag;
        this.opts.logger.warn(
          { model: this.opts.model, tag: CHALLENGER_WEIGHT_TAG, value: tag.slice(0, 64), weight: this.percent, source: this.currentSource },
          `the registry's ${CHALLENGER_WEIGHT_TAG} tag is not a percentage (0-100): ignored, the challenger weight in use stays`,
        );
      }
      return;
    }
    this.ignoredTag = undefined;
    this.use(requested, "tag");
  }

  private use(requested: number, source: WeightSource): void {
    const from = this.split.weight;
    this.split.setWeight(this.capped(requested));
    const to = this.split.weight;
    const sourceChanged = source !== this.currentSource;
    this.currentSource = source;
    if (to === from && !sourceChanged) return;
    this.opts.gauge?.labels(this.opts.model).set(to);
    this.opts.logger.info(
      { model: this.opts.model, from, to, source, requested, cap: this.opts.cap, ...(this.opts.shadow ? { shadow: true } : {}) },
      to === from ? `challenger weight ${to}% now from the ${source === "tag" ? "registry tag" : "configuration"}` : `challenger weight changed from ${from}% to ${to}%`,
    );
  }

  private capped(requested: number): number {
    return this.opts.shadow ? 0 : Math.min(requested, this.opts.cap);
  }
}
