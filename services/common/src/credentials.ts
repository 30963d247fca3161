/**
 * Shared-secret bearer credentials between the platform's services: serving's event batches to the
 * sinks, feedback producers, readers of the monitor's records, Alertmanager. Each credential guards
 * one kind of call, so a pod holding one cannot make the others.
 */
import { timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { HttpError } from "./errors";

/** Shortest shared secret a service accepts in its configuration. */
export const MIN_TOKEN_LENGTH = 16;

/** The `authorization` header value that carries `token`. */
export function bearerHeader(token: string): string {
  return `Bearer ${token}`;
}

/** Whether an `authorization` header carries exactly `token` (constant time in the token's length). */
export function carriesBearer(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header ?? "");
  const expected = Buffer.from(bearerHeader(token));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface BearerRequirement {
  /** The secret the caller must present. */
  token: string;
  /** Realm of the `www-authenticate` challenge, e.g. `mlops-monitor-events`. */
  realm: string;
  /** Which call this guards and which variable holds the token, for the 401's message. */
  what: string;
}

/** Throws 401 UNAUTHENTICATED unless the request carries the token of `req`. */
export function authorizeBearer(req: Pick<Request, "headers">, need: BearerRequirement): void {
  if (carriesBearer(req.headers.authorization, need.token)) return;
  const given = req.headers.authorization !== undefined;
  throw new HttpError(401, "UNAUTHENTICATED", `${need.what} needs its bearer token (authorization: Bearer <token>)${given ? ": the one given is wrong" : ""}`, {
    "www-authenticate": `Bearer realm="${need.realm}"${given ? ', error="invalid_token"' : ""}`,
  });
}

/** Middleware form of authorizeBearer, first in a route's chain. */
export function requireBearer(need: BearerRequirement): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    try {
      authorizeBearer(req, need);
      next();
    } catch (err) {
      next(err);
    }
  };
}
