/**
 * Rate limits per endpoint class and principal (the seed's table): auth 10, models 100, predictions
 * 1000, drift 50 requests a minute. Each answer carries X-RateLimit-Limit/Remaining/Reset (epoch
 * seconds) and X-RateLimit-Window (seconds); beyond the limit 429 RATE_LIMIT_EXCEEDED with the limit,
 * the window and when it resets. Counters live in the pod: with N replicas behind a Service a
 * principal may reach N times the limit; the limits guard the pods, not a quota.
 *
 * Fixed windows counted synchronously, as express-rate-limit's memory store counts them (a window
 * starts at a key's first call), without its promise per call: on the predict path that middleware
 * was 7% of the API's CPU (services/api/scripts/bench.ts with BENCH_PROFILE).
 */
import type { RequestHandler } from "express";
import { ApiError } from "./errors";

export const RATE_CLASSES = ["auth", "models", "predictions", "drift", "admin"] as const;
export type RateClass = (typeof RATE_CLASSES)[number];

export const DEFAULT_RATE_LIMITS: Record<RateClass, number> = { auth: 10, models: 100, predictions: 1000, drift: 50, admin: 100 };
export const RATE_WINDOW_S = 60;

/** Where the limiter finds whose request it is (set by the endpoint before the limiter runs). */
export const RATE_KEY_LOCAL = "rateKey";

interface Window {
  count: number;
  /** Epoch milliseconds. */
  resetAt: number;
}

/** Calls per key in fixed windows; windows that ended are dropped once a window, so idle keys do not pile up. */
export class FixedWindowCounter {
  private readonly windows = new Map<string, Window>();
  private sweptAt: number;

  constructor(
    private readonly windowMs: number,
    now = Date.now(),
  ) {
    this.sweptAt = now;
  }

  /** Counts one call of `key`; its window as it stands after the call. */
  hit(key: string, now = Date.now()): Readonly<Window> {
    if (now - this.sweptAt >= this.windowMs) this.sweep(now);
    let w = this.windows.get(key);
    if (!w || now >= w.resetAt) {
      w = { count: 0, resetAt: now + this.windowMs };
      this.windows.set(key, w);
    }
    w.count++;
    return w;
  }

  get size(): number {
    return this.windows.size;
  }

  private sweep(now: number): void {
    for (const [key, w] of this.windows) if (now >= w.resetAt) this.windows.delete(key);
    this.sweptAt = now;
  }
}

/** One middleware per class over one counter; it calls `next` synchronously. */
export function rateLimiters(limits: Record<RateClass, number> = DEFAULT_RATE_LIMITS): Record<RateClass, RequestHandler> {
  const counter = new FixedWindowCounter(RATE_WINDOW_S * 1000);
  const one = (cls: RateClass): RequestHandler => {
    const limit = limits[cls];
    const limitText = String(limit);
    return (_req, res, next) => {
      // The key is the principal (or the client address for unauthenticated calls), chosen by the endpoint.
      const w = counter.hit(`${cls}:${String(res.locals[RATE_KEY_LOCAL])}`);
      res.setHeader("X-RateLimit-Limit", limitText);
      res.setHeader("X-RateLimit-Remaining", String(Math.max(0, limit - w.count)));
      res.setHeader("X-RateLimit-Reset", String(Math.ceil(w.resetAt / 1000)));
      res.setHeader("X-RateLimit-Window", String(RATE_WINDOW_S));
      if (w.count <= limit) return next();
      next(
        new ApiError(429, "RATE_LIMIT_EXCEEDED", `Rate limit exceeded for ${cls} endpoint`, { limit, window: RATE_WINDOW_S, reset_time: new Date(w.resetAt).toISOString() }, {
          "retry-after": String(Math.max(1, Math.ceil((w.resetAt - Date.now()) / 1000))),
        }),
      );
    };
  };
  return { auth: one("auth"), models: one("models"), predictions: one("predictions"), drift: one("drift"), admin: one("admin") };
}
