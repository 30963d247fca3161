/**
 * Rate limits per endpoint class and principal (the seed's table): auth 10, models 100, predictions
 * 1000, drift 50 requests a minute. Each answer carries X-RateLimit-Limit/Remaining/Reset (epoch
 * seconds) and X-RateLimit-Window (seconds); beyond the limit 429 RATE_LIMIT_EXCEEDED with the limit,
 * the window and when it resets. Counters live in the pod (express-rate-limit's memory store): with N
 * replicas behind a Service a principal may reach N times the limit; the limits guard the pods, not a quota.
 */
import type { RequestHandler } from "express";
import { rateLimit } from "express-rate-limit";
import { ApiError } from "./errors";

export const RATE_CLASSES = ["auth", "models", "predictions", "drift", "admin"] as const;
export type RateClass = (typeof RATE_CLASSES)[number];

export const DEFAULT_RATE_LIMITS: Record<RateClass, number> = { auth: 10, models: 100, predictions: 1000, drift: 50, admin: 100 };
export const RATE_WINDOW_S = 60;

/** Where the limiter finds whose request it is (set by the endpoint before the limiter runs). */
export const RATE_KEY_LOCAL = "rateKey";

export function rateLimiters(limits: Record<RateClass, number> = DEFAULT_RATE_LIMITS): Record<RateClass, RequestHandler> {
  const one = (cls: RateClass): RequestHandler => {
    const limiter = rateLimit({
      windowMs: RATE_WINDOW_S * 1000,
      limit: limits[cls],
      legacyHeaders: true,
      standardHeaders: false,
      // The key is the principal (or the client address for unauthenticated calls), chosen by the endpoint.
      keyGenerator: (_req, res) => `${cls}:${String(res.locals[RATE_KEY_LOCAL])}`,
      validate: { keyGeneratorIpFallback: false },
      handler: (req, _res, next) => {
        const info = (req as unknown as { rateLimit?: { resetTime?: Date } }).rateLimit;
        const reset = info?.resetTime ?? new Date(Date.now() + RATE_WINDOW_S * 1000);
        next(
          new ApiError(429, "RATE_LIMIT_EXCEEDED", `Rate limit exceeded for ${cls} endpoint`, { limit: limits[cls], window: RATE_WINDOW_S, reset_time: reset.toISOString() }, {
            "retry-after": String(Math.max(1, Math.ceil((reset.getTime() - Date.now()) / 1000))),
          }),
        );
      },
    });
    return (req, res, next) => {
      res.setHeader("X-RateLimit-Window", String(RATE_WINDOW_S));
      void limiter(req, res, next);
    };
  };
  return { auth: one("auth"), models: one("models"), predictions: one("predictions"), drift: one("drift"), admin: one("admin") };
}
