/**
 * The credentials the API hands out:
 * - access tokens: JWTs signed HS256 with JWT_SIGNING_KEY (iss mlops-platform-api, aud mlops-platform,
 *   sub = user id, role, sid = session, jti), short-lived; checked without the database except for the
 *   session's liveness (authenticator.ts);
 * - refresh tokens `mlr_<32 random bytes, base64url>` and API keys `mlops_<key id>_<32 random bytes,
 *   base64url>`: opaque, stored only as their sha256.
 *
 * A fast hash is right for these two (unlike passwords): they carry 256 random bits, so no guessing or
 * precomputation can find one from its hash, and the lookup on each call must stay cheap.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { unauthenticated } from "../http/errors";
import { ROLES, type Role } from "./roles";

export const TOKEN_ISSUER = "mlops-platform-api";
export const TOKEN_AUDIENCE = "mlops-platform";
const CLOCK_TOLERANCE_S = 5;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const REFRESH_PREFIX = "mlr_";
export const API_KEY_PREFIX = "mlops_";

export interface AccessClaims {
  userId: number;
  role: Role;
  sessionId: string;
}

export class AccessTokens {
  private readonly key: Uint8Array;

  constructor(signingKey: string, readonly ttlS: number) {
    this.key = new TextEncoder().encode(signingKey);
  }

  async issue(claims: AccessClaims): Promise<string> {
    return new SignJWT({ role: claims.role, sid: claims.sessionId })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(String(claims.userId))
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${this.ttlS}s`)
      .sign(this.key);
  }

  /** The token's claims, or 401 INVALID_TOKEN saying whether it expired or is invalid (never echoing it). */
  async verify(token: string): Promise<AccessClaims> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.key, { algorithms: ["HS256"], issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE, clockTolerance: CLOCK_TOLERANCE_S, requiredClaims: ["sub", "sid", "exp", "iat"] }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw unauthenticated("the access token has expired: refresh it or log in again");
      throw unauthenticated(`the access token is invalid (${describeJoseError(err)})`);
    }
    const userId = Number(payload.sub);
    const role = payload.role as Role;
    if (!Number.isSafeInteger(userId) || typeof payload.sid !== "string" || !UUID.test(payload.sid) || !ROLES.includes(role)) throw unauthenticated("the access token is invalid (unexpected claims)");
    return { userId, role, sessionId: payload.sid };
  }
}

/** Why jose refused, in words that cannot contain the token. */
function describeJoseError(err: unknown): string {
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return "bad signature";
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `claim ${err.claim} not accepted`;
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return "algorithm not allowed";
  return "malformed";
}

export const sha256 = (text: string): Buffer => createHash("sha256").update(text).digest();

const secret = (): string => randomBytes(32).toString("base64url");

export function newRefreshToken(): string {
  return REFRESH_PREFIX + secret();
}

export interface NewApiKey {
  keyId: string;
  /** The whole key, shown once. */
  key: string;
  secretHash: Buffer;
}

/** Key ids are hex, so the first `_` after the prefix ends the id (the base64url secret may contain `_`). */
export function newApiKey(): NewApiKey {
  const keyId = randomBytes(8).toString("hex");
  const s = secret();
  return { keyId, key: `${API_KEY_PREFIX}${keyId}_${s}`, secretHash: sha256(s) };
}

export function parseApiKey(key: string): { keyId: string; secret: string } | undefined {
  const m = /^mlops_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/.exec(key);
  return m ? { keyId: m[1], secret: m[2] } : undefined;
}
