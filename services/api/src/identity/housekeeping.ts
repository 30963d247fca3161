/**
 * The identity tables' housekeeping: every `intervalMs` (an hour by default; the first sweep at a
 * random point of the first interval, so replicas started together do not sweep together) it deletes
 * expired refresh tokens and dead sessions (SessionStore.sweep). Each replica sweeps; the deletes are
 * idempotent, so a second replica's sweep finds nothing. A failed sweep is logged and tried again at
 * the next interval.
 *
 *   const housekeeping = new SessionHousekeeping({ sessions, graceS, logger });
 *   housekeeping.start();
 *   await housekeeping.stop();   // at shutdown, before the pool ends
 */
import type { Logger } from "@mlops/common";
import type { SessionStore } from "./sessions";

/** How long expired tokens and dead sessions are kept: a day, and never less than an access token lives. */
export function sweepGraceS(accessTokenTtlS: number): number {
  return Math.max(24 * 3600, accessTokenTtlS);
}

export interface SessionHousekeepingOptions {
  sessions: Pick<SessionStore, "sweep">;
  graceS: number;
  logger: Logger;
  intervalMs?: number;
}

export class SessionHousekeeping {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private readonly intervalMs: number;

  constructor(private readonly opts: SessionHousekeepingOptions) {
    this.intervalMs = opts.intervalMs ?? 3600_000;
  }

  start(): void {
    this.schedule(Math.round(this.intervalMs * Math.random()));
  }

  /** One sweep now (also what the timer runs); resolves when it is done, never rejects. */
  sweepOnce(): Promise<void> {
    this.running ??= this.opts.sessions
      .sweep(this.opts.graceS)
      .then(
        (removed) => {
          if (removed.refreshTokens || removed.sessions) this.opts.logger.info(removed, "expired refresh tokens and ended sessions removed");
        },
        (err: unknown) => this.opts.logger.warn({ err: (err as Error).message }, "session housekeeping failed; trying again at the next interval"),
      )
      .finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.sweepOnce().then(() => this.schedule(this.intervalMs)), delayMs);
    // Housekeeping never keeps the process alive on its own.
    this.timer.unref();
  }
}
