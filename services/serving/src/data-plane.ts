import { HttpError, type Logger, type Variant } from "@mlops/common";
import type { EventPublisher } from "./events";
import type { Protocol, ServingMetrics } from "./metrics";
import type { LoadedModel } from "./model/loaded-model";
import type { ModelSlot } from "./model/slot";
import type { Decoded } from "./protocols/features";
import type { TrafficSplit } from "./routing";
import type { Prediction } from "./signature";

/** The variant and model version answering one request, read once when its body is complete. */
export interface Target {
  variant: Variant;
  model: LoadedModel;
}

/** Who asked and how: what the data plane records with a prediction. */
export interface InferenceContext {
  protocol: Protocol;
  requestId: string;
  /** The API key's name (API_KEYS_FILE); undefined when keys are off. Never the key. */
  client: string | undefined;
  /** The client's id of each row (OIP `parameters.prediction_ids`); else the events say `<requestId>:<row>`. */
  predictionIds?: readonly string[];
}

export interface DataPlaneOptions {
  modelName: string;
  champion: ModelSlot;
  challenger?: ModelSlot;
  split: TrafficSplit;
  shadow: boolean;
  events: EventPublisher;
  metrics: ServingMetrics;
  logger: Logger;
}

/**
 * What serving does with a decoded request, whatever protocol brought it (as MLServer's DataPlane sits
 * between its protocol handlers and its models): picks the model version that answers (champion, the
 * challenger's share, a version asked for by number), runs the rows, runs the challenger in shadow,
 * samples prediction events, and counts requests. It knows no HTTP, JSON or protocol: the routes
 * (`http/`) parse, decode with the protocol codecs against `target.model.signature`, call `infer`, encode
 * and map errors.
 *
 * The not-found and not-ready answers are HttpErrors (status and code of the platform's contract), as the
 * model slot's `notReadyError` is.
 */
export class DataPlane {
  readonly modelName: string;
  /** The shadow gets the champion's decoded rows: only when both models take the same features in the same order. */
  private checkedPair?: { champion: LoadedModel; challenger: LoadedModel; same: boolean };
  /** Whether the challenger served the champion's version when last looked at (its changes are logged once). */
  private challengerIsChampion = false;

  constructor(private readonly opts: DataPlaneOptions) {
    this.modelName = opts.modelName;
  }

  /** Ready: the champion serves a version. */
  get ready(): boolean {
    return this.opts.champion.current !== undefined;
  }

  /** Throws 503 MODEL_NOT_READY while the champion has no version (asked before a body is read). */
  requireReady(): void {
    if (!this.opts.champion.current) throw this.opts.champion.notReadyError();
  }

  /**
   * The model answering an inference request: the version named in its path, else the champion or, for
   * its share of traffic (sticky per routing key), the challenger. A shadow version never answers.
   */
  select(version: string | undefined, routingKey: string | undefined): Target {
    if (version !== undefined) {
      const target = this.byVersion(version);
      if (target.variant === "shadow") {
        throw new HttpError(404, "MODEL_VERSION_NOT_FOUND", `${this.modelName} version ${version} runs in shadow mode: its answers are recorded, never returned`);
      }
      return target;
    }
    const challenger = this.activeChallenger();
    if (challenger && !this.opts.shadow && this.opts.split.toChallenger(routingKey)) return { variant: "challenger", model: challenger };
    return { variant: "champion", model: this.champion() };
  }

  /**
   * The challenger that takes its share of traffic (or runs in shadow) now: none while it serves the
   * champion's version. The monitor demotes a challenger by pointing its alias at the champion's version
   * (moving an alias needs fewer registry rights than deleting it); the same model under two names is no
   * experiment, and its events would count the champion's predictions a second time as "challenger".
   * Once the alias points at another version again, the split resumes. Two lookups per request.
   */
  activeChallenger(): LoadedModel | undefined {
    const challenger = this.opts.challenger?.current;
    if (!challenger) return undefined;
    const same = isSameVersion(challenger, this.opts.champion.current);
    if (same !== this.challengerIsChampion) this.challengerChanged(same, challenger);
    return same ? undefined : challenger;
  }

  /** A slot swapped versions: say now (not at the next request) whether the challenger is split off. */
  versionsChanged(): void {
    this.activeChallenger();
  }

  private challengerChanged(same: boolean, challenger: LoadedModel): void {
    this.challengerIsChampion = same;
    const role = this.opts.shadow ? "shadow" : "challenger";
    if (same) this.opts.logger.info({ model: this.modelName, version: challenger.version }, `the ${role} serves the champion's version: no ${role} until it points at another version (all traffic to the champion)`);
    else this.opts.logger.info({ model: this.modelName, version: challenger.version, champion: this.opts.champion.current?.version }, `the ${role} serves a version of its own again: the ${this.opts.shadow ? "shadow runs" : "split"} resumes`);
  }

  /** The version a metadata request is about: the one named (a shadow version too), else the champion. */
  describe(version: string | undefined): Target {
    return version !== undefined ? this.byVersion(version) : { variant: "champion", model: this.champion() };
  }

  /** The versions served now: the champion's, then the challenger's. */
  servedVersions(): string[] {
    const versions = [this.opts.champion.current?.version, this.opts.challenger?.current?.version].filter((v): v is string => v !== undefined);
    return [...new Set(versions)];
  }

  /**
   * Runs the decoded rows on the target (batched with the other requests of this event-loop turn) and, in
   * shadow mode, on the challenger too. Call it in the turn the rows were decoded: `decoded.input` is a
   * reused buffer, and the model read by `select` is only guaranteed not to be retired until it has the
   * rows. A sampled request's events are queued once the prediction is there.
   */
  infer(target: Target, decoded: Decoded, ctx: InferenceContext): Promise<Prediction> {
    const { model, variant } = target;
    const rows = decoded.rows;
    const sampled = this.opts.events.sample();
    // The input view is reused by the next request: events keep their own copy (sampled requests only).
    const features = sampled ? decoded.input.slice(0, rows * model.width) : undefined;
    const prediction = model.predict(decoded.input, rows);
    if (this.opts.shadow && variant === "champion") this.shadow(decoded, ctx, features);
    if (features) prediction.then((p) => this.opts.events.publish(model, variant, ctx, features, p), () => undefined).catch(this.bug);
    return prediction;
  }

  /**
   * One answered request, whatever its status: counted under its target, or under the champion when it
   * failed before one was chosen (and not at all while there is none).
   */
  record(target: Target | undefined, protocol: Protocol, status: number, seconds: number, rows: number): void {
    const blamed = target ?? this.fallbackTarget();
    if (blamed) this.opts.metrics.request(this.modelName, blamed.model.version, blamed.variant, protocol, status, seconds, rows);
  }

  /** The challenger runs the same rows; its answer is recorded (metrics, events), never returned. */
  private shadow(decoded: Decoded, ctx: InferenceContext, features: Float32Array | undefined): void {
    const model = this.activeChallenger();
    if (!model || !this.sameFeatures(this.opts.champion.current!, model)) return;
    const started = performance.now();
    model
      .predict(decoded.input, decoded.rows)
      .then(
        (p: Prediction) => {
          this.opts.metrics.request(this.modelName, model.version, "shadow", ctx.protocol, 200, (performance.now() - started) / 1000, p.rows);
          if (features) this.opts.events.publish(model, "shadow", ctx, features, p);
        },
        (err) => {
          this.opts.metrics.request(this.modelName, model.version, "shadow", ctx.protocol, 500, (performance.now() - started) / 1000, 0);
          this.opts.logger.warn({ err: (err as Error).message, version: model.version }, "shadow inference failed");
        },
      )
      .catch(this.bug);
  }

  private sameFeatures(champion: LoadedModel, challenger: LoadedModel): boolean {
    const pair = this.checkedPair;
    if (pair?.champion !== champion || pair.challenger !== challenger) {
      const same = champion.signature.featureNames.join("\u0000") === challenger.signature.featureNames.join("\u0000");
      if (!same) this.opts.logger.warn({ champion: champion.version, challenger: challenger.version }, "the shadow model takes other features than the champion: it is not run");
      this.checkedPair = { champion, challenger, same };
      return same;
    }
    return pair.same;
  }

  /** After the answer: a throw in bookkeeping (metrics, events) is logged, never an unhandled rejection. */
  private readonly bug = (err: unknown): void => {
    this.opts.logger.error({ err }, "failed after answering a request");
  };

  private champion(): LoadedModel {
    const model = this.opts.champion.current;
    if (!model) throw this.opts.champion.notReadyError();
    return model;
  }

  private byVersion(version: string): Target {
    const champion = this.opts.champion.current;
    if (champion?.version === version) return { variant: "champion", model: champion };
    const challenger = this.opts.challenger?.current;
    if (challenger?.version === version) return { variant: this.opts.shadow ? "shadow" : "challenger", model: challenger };
    throw new HttpError(404, "MODEL_VERSION_NOT_FOUND", `${this.modelName} version ${version} is not served here; serving ${this.servedVersions().join(" and ")}`);
  }

  private fallbackTarget(): Target | undefined {
    const model = this.opts.champion.current;
    return model && { variant: "champion", model };
  }
}

/** One version under both aliases: the same version name and the same ONNX file (another model's "3" is another version). */
function isSameVersion(a: LoadedModel, b: LoadedModel | undefined): boolean {
  return b !== undefined && a.version === b.version && a.sha256 === b.sha256;
}
