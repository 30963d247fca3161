import { HttpError, MlflowError, Prerequisite, type Logger, type WaitingFor } from "@mlops/common";
import { LoadedModel } from "./loaded-model";
import { ModelFormatError } from "./mlmodel";
import type { ModelSource, VersionPointer } from "./source";

export type SlotVariant = "champion" | "challenger";

export interface SlotHooks {
  /** A version now serves (first load or swap); `previous` is the one it replaced. */
  swapped(next: LoadedModel, previous: LoadedModel | undefined): void;
  /** A version was refused (download, checksum, load or warm-up failed). */
  refused(version: string, error: Error): void;
  /** The registry could not be asked (the current version, if any, keeps serving). */
  registryError(error: Error): void;
}

export interface SlotOptions {
  name: string;
  variant: SlotVariant;
  source: ModelSource;
  threads: number;
  spinning: boolean;
  hooks: SlotHooks;
  logger: Logger;
  /**
   * Runs at each poll once the URI was resolved, before a new version is loaded (so a new version starts
   * under what it reads): the challenger's reads the registered model's `mlops.challenger_weight` tag.
   * Must not throw. Not run when the registry could not be asked: that poll is counted once.
   */
  afterResolve?: () => Promise<void>;
}

/**
 * How often a slot without a version tries again when RELOAD_INTERVAL_S=0 disabled polling: the old
 * alternative, exiting, had Kubernetes retry by restarting the pod; this keeps that retry without the crash loop.
 */
export const FIRST_LOAD_RETRY_S = 30;

/**
 * The model version one variant serves, replaced without a failed request: a new version is downloaded,
 * loaded and warmed up in the background, then swapped in with one assignment; requests hold the model
 * they started with, and the old version's session is released once those are answered. A version that
 * fails is refused and remembered (not retried every poll), and the current one keeps serving.
 *
 * A slot starts empty and gets its first version from the same poll: a new stack's registry has no
 * version behind the alias yet, and the process must wait for one rather than exit. Until then
 * `current` is undefined and `waiting` says what is missing and why.
 */
export class ModelSlot {
  private model?: LoadedModel;
  private readonly refusedVersions = new Set<string>();
  private timer?: NodeJS.Timeout;
  /** Whether the timer outlives the first version: not for pinned URIs, nor with polling disabled. */
  private pollAfterFirstVersion = false;
  private polling?: Promise<void>;
  private stopped = false;
  private lastAttempted?: string;
  private readonly firstVersion: Prerequisite;

  constructor(private readonly opts: SlotOptions) {
    this.firstVersion = new Prerequisite(opts.logger, `${opts.variant} model version`, opts.source.uri, { model: opts.name, variant: opts.variant });
  }

  get variant(): SlotVariant {
    return this.opts.variant;
  }

  get uri(): string {
    return this.opts.source.uri;
  }

  /** The version serving now. Read it once per request: a swap never changes a request's model midway. */
  get current(): LoadedModel | undefined {
    return this.model;
  }

  /** Versions refused so far. */
  get refused(): ReadonlySet<string> {
    return this.refusedVersions;
  }

  /** Why no version serves yet (for the readiness probe); undefined once one does. */
  get waiting(): WaitingFor | undefined {
    return this.firstVersion.waiting;
  }

  /** The answer to a request that needs this slot's model while it has none. */
  notReadyError(): HttpError {
    return new HttpError(503, "MODEL_NOT_READY", `${this.opts.name} has no ${this.variant} model version loaded yet: ${this.firstVersion.describe()}`);
  }

  /** One look at the URI: when it points at a new version, load it and swap. Never throws. */
  poll(): Promise<void> {
    this.polling ??= this.check()
      .catch((err) => this.opts.logger.error({ err, variant: this.variant }, "model poll failed"))
      .finally(() => (this.polling = undefined));
    return this.polling;
  }

  /**
   * Polls every `intervalSeconds` (0: no polling for new versions). Until a first version serves, the slot
   * polls anyway, pinned or not (a pinned version may be uploaded a little later), every
   * FIRST_LOAD_RETRY_S when polling is disabled; once it serves, only a movable URI keeps polling.
   */
  startPolling(intervalSeconds: number): void {
    this.pollAfterFirstVersion = intervalSeconds > 0 && !this.opts.source.pinned;
    this.stopTimer();
    if (this.model && !this.pollAfterFirstVersion) return;
    const seconds = intervalSeconds > 0 ? intervalSeconds : FIRST_LOAD_RETRY_S;
    this.firstVersion.retryIntervalS = seconds;
    this.timer = setInterval(() => void this.poll(), seconds * 1000);
    this.timer.unref();
  }

  /** Stops polling, waits for a load in progress, and releases the model once its requests are answered. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopTimer();
    await this.polling;
    await this.model?.retire();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async check(): Promise<void> {
    let pointer: VersionPointer;
    try {
      pointer = await this.opts.source.current();
    } catch (err) {
      if (!this.model) return this.stillWaiting(err as Error);
      this.opts.logger.warn({ err: (err as Error).message, variant: this.variant, uri: this.uri }, "model registry check failed; the current version keeps serving");
      this.opts.hooks.registryError(err as Error);
      return;
    }
    await this.opts.afterResolve?.();
    if (pointer.version === this.model?.version || this.refusedVersions.has(pointer.version) || this.stopped) return;
    // A version retried after a download hiccup is announced once, not at every poll.
    if (pointer.version !== this.lastAttempted) {
      this.opts.logger.info({ variant: this.variant, version: pointer.version, serving: this.model?.version }, "new model version: loading in the background");
      this.lastAttempted = pointer.version;
    }
    let next: LoadedModel;
    try {
      next = await this.loadVersion(pointer);
    } catch (err) {
      // A broken version stays refused; a download or registry hiccup is tried again at the next poll.
      if (err instanceof ModelFormatError) this.refusedVersions.add(pointer.version);
      this.opts.hooks.refused(pointer.version, err as Error);
      if (!this.model) this.firstVersion.failed(err);
      else this.opts.logger.error({ err: (err as Error).message, variant: this.variant, version: pointer.version, serving: this.model.version }, "model version refused; the current one keeps serving");
      return;
    }
    if (this.stopped) {
      await next.retire();
      return;
    }
    this.swap(next);
  }

  /** Download (a bad cached copy is fetched again once), load, check, warm up. */
  private async loadVersion(pointer: VersionPointer): Promise<LoadedModel> {
    const { source } = this.opts;
    const load = async () =>
      LoadedModel.load(await source.fetch(pointer.version), {
        name: this.opts.name,
        version: pointer.version,
        uri: source.uri,
        expectedSha256: pointer.sha256,
        threads: this.opts.threads,
        spinning: this.opts.spinning,
      });
    try {
      return await load();
    } catch (err) {
      if (!(err instanceof ModelFormatError)) throw err; // download or registry trouble: retried at the next poll
      if (!source.uri.startsWith("file:")) {
        // A cached copy may be what is broken (a crash mid-write, a full disk): fetch it once more.
        await source.evict(pointer.version);
        try {
          return await load();
        } catch (again) {
          err = again;
        }
      }
      if (err instanceof ModelFormatError) await source.evict(pointer.version);
      throw err;
    }
  }

  /**
   * No version yet and the URI could not be resolved. "Not found" is the expected state of a new stack
   * (nothing registered behind the alias yet), not a registry failure, so only other errors are counted.
   */
  private stillWaiting(err: Error): void {
    this.firstVersion.failed(err);
    const registryFailed = err instanceof MlflowError && err.status !== 404;
    if (registryFailed) this.opts.hooks.registryError(err);
  }

  private swap(next: LoadedModel): void {
    const previous = this.model;
    this.model = next;
    this.firstVersion.succeeded();
    if (!this.pollAfterFirstVersion) this.stopTimer();
    this.opts.hooks.swapped(next, previous);
    this.opts.logger.info({ model: next.name, variant: this.variant, version: next.version, previous: previous?.version, sha256: next.sha256 }, "model version serving");
    if (previous) {
      void previous.retire().then(
        () => (previous.version !== next.version ? this.opts.source.evict(previous.version) : undefined),
        (err) => this.opts.logger.warn({ err: (err as Error).message, version: previous.version }, "releasing the previous model version failed"),
      );
    }
  }
}
