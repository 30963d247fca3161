import type { Logger } from "./logger";

/**
 * Tells which failures of an attempt repeated on a timer deserve a log line: a message that differs from
 * the previous one. An outage of hours then costs a few lines, not one per retry, and a new reason (the
 * registry came back but the version is still missing) is still logged the moment it appears.
 */
export class RepeatFilter {
  private last?: string;
  private failures = 0;

  /** Records a failure; true when its message is not the one seen last (log it), false for a repeat. */
  isNew(message: string): boolean {
    this.failures++;
    if (message === this.last) return false;
    this.last = message;
    return true;
  }

  /** Ends the streak (the attempt succeeded); returns how many failures it held, 0 when there was none. */
  reset(): number {
    const failures = this.failures;
    this.last = undefined;
    this.failures = 0;
    return failures;
  }
}

/** One thing a service waits for before it is ready, as `/health/ready` reports it. */
export interface WaitingFor {
  /** What is missing, e.g. "champion model version", "reference profile". */
  what: string;
  uri: string;
  /** Why the last attempt failed (or that the first one is still running). */
  reason: string;
  /** When the wait began (ISO-8601). */
  since: string;
  /** Failed attempts so far. */
  attempts: number;
  /** Seconds between attempts, when they are retried on a timer. */
  retryIntervalS?: number;
}

const FIRST_ATTEMPT = "the first attempt is still running";

/**
 * Something a service needs before it can be ready and keeps trying to get: a model version that may not
 * be registered yet, a reference profile. It remembers why the last attempt failed (for the readiness
 * probe and 503 bodies) and logs each new reason once, at warn, rather than every retry.
 *
 * Callers own the retry timer and the metrics; this only keeps the state and the log honest.
 */
export class Prerequisite {
  private reason = FIRST_ATTEMPT;
  private attempts = 0;
  private readonly startedAt = new Date();
  private met = false;
  private readonly repeats = new RepeatFilter();
  /** Seconds between attempts, shown in logs and 503 messages; set by whoever schedules the retries. */
  retryIntervalS?: number;

  constructor(
    private readonly logger: Logger,
    readonly what: string,
    readonly uri: string,
    /** Extra fields for every log line (e.g. `{variant: "champion"}`). */
    private readonly fields: Record<string, unknown> = {},
  ) {}

  get isMet(): boolean {
    return this.met;
  }

  /** What is still missing and why; undefined once it is met. */
  get waiting(): WaitingFor | undefined {
    if (this.met) return undefined;
    const status: WaitingFor = { what: this.what, uri: this.uri, reason: this.reason, since: this.startedAt.toISOString(), attempts: this.attempts };
    if (this.retryIntervalS !== undefined) status.retryIntervalS = this.retryIntervalS;
    return status;
  }

  /**
   * One sentence for a 503 body. It holds no counters or times on purpose: a caller that logs the bodies
   * it gets (serving's event sender) then sees the same text at every retry and logs it once.
   */
  describe(): string {
    const retry = this.retryIntervalS !== undefined ? `; retried every ${this.retryIntervalS} s` : "";
    return `waiting for the ${this.what} ${this.uri}: ${this.reason}${retry}`;
  }

  /** An attempt failed; the service stays not ready. A reason differing from the last one is logged. */
  failed(err: unknown): void {
    this.attempts++;
    this.reason = messageOf(err);
    if (this.met || !this.repeats.isNew(this.reason)) return;
    this.logger.warn(
      { ...this.fields, uri: this.uri, reason: this.reason, attempts: this.attempts, retryIntervalS: this.retryIntervalS },
      `${this.what} not available yet: not ready, retrying (the same reason is not logged again)`,
    );
  }

  /** It is there now; logged when it took failed attempts to get. */
  succeeded(): void {
    if (this.met) return;
    this.met = true;
    const failed = this.repeats.reset();
    if (failed > 0) {
      const waitedS = Math.round((Date.now() - this.startedAt.getTime()) / 1000);
      this.logger.info({ ...this.fields, uri: this.uri, failedAttempts: failed, waitedS }, `${this.what} available after ${failed} failed attempt(s)`);
    }
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
