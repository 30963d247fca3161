/**
 * `Authorization: Bearer <access token>` or `Bearer mlops_<key id>_<secret>` to a principal.
 *
 * An access token is checked offline (signature, issuer, audience, expiry), then its session must be
 * live and its user active. That check is cached per session for SESSION_CHECK_TTL_MS (5 s), so a
 * prediction call costs no database round trip each time; the price: another replica may honour a
 * logged-out (or deactivated user's) access token for up to 5 s. In this pod, logout and revocation
 * drop the cache entry at once. The role and permissions are the user's current ones from that check,
 * not the token's `role` claim, so a change of role applies within the same 5 s.
 *
 * An API key is looked up by its id, its secret compared (constant time) with the stored sha256; a
 * verified key is cached for API_KEY_TTL_MS (30 s), so a key revoked in another replica may work there
 * for up to 30 s. Unknown keys are not cached (each costs a query; the auth rate limit bounds them).
 * The key's principal is built once per cache entry, not per call (predictions are the hot path).
 *
 * A verified access token is kept for VERIFIED_TOKEN_TTL_MS (5 s, never past its `exp`) by its exact
 * string, so a client's burst of calls pays the HMAC check once; the session check above still runs
 * on every call, so logout and deactivation are honoured exactly as without it.
 */
import { timingSafeEqual } from "node:crypto";
import { decodeJwt } from "jose";
import { unauthenticated } from "../http/errors";
import type { ApiKeyStore } from "./api-keys";
import type { Authenticator, Environment, Principal } from "./roles";
import type { SessionStore } from "./sessions";
import { TtlCache } from "./ttl-cache";
import { API_KEY_PREFIX, AccessTokens, parseApiKey, sha256, type AccessClaims } from "./tokens";
import { principalOf, type User } from "./users";

export const SESSION_CHECK_TTL_MS = 5_000;
export const API_KEY_TTL_MS = 30_000;
export const VERIFIED_TOKEN_TTL_MS = 5_000;
const MAX_CACHED = 10_000;

export interface IdentityAuthenticatorOptions {
  tokens: AccessTokens;
  sessions: Pick<SessionStore, "liveUser">;
  keys: Pick<ApiKeyStore, "lookup">;
  environment: Environment;
}

export class IdentityAuthenticator implements Authenticator {
  /** Session id -> its user when live, null when ended. */
  private readonly sessions = new TtlCache<string, User | null>(SESSION_CHECK_TTL_MS, MAX_CACHED);
  /** Key id -> the stored hash of its secret and its user. */
  private readonly keys = new TtlCache<string, { secretHash: Buffer; user: User; principal: Principal }>(API_KEY_TTL_MS, MAX_CACHED);
  /** Access token -> its verified claims and until when they may be trusted (its exp at the latest). */
  private readonly verified = new TtlCache<string, { claims: AccessClaims; until: number }>(VERIFIED_TOKEN_TTL_MS, MAX_CACHED);

  constructor(private readonly opts: IdentityAuthenticatorOptions) {}

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!m) throw unauthenticated(authorization ? "expected the header Authorization: Bearer <access token or API key>" : "authentication required");
    const credential = m[1];
    return credential.startsWith(API_KEY_PREFIX) ? this.byApiKey(credential) : this.byAccessToken(credential);
  }

  /** Ends this pod's trust in a session at once (logout, reuse). */
  forgetSession(sessionId: string): void {
    this.sessions.delete(sessionId);
  }

  forgetKey(keyId: string): void {
    this.keys.delete(keyId);
  }

  /** After a change of the user (deactivation, role, password): their cached sessions and keys are checked again. */
  forgetUser(userId: number): void {
    this.sessions.deleteWhere((u) => u?.id === userId);
    this.keys.deleteWhere((k) => k.user.id === userId);
  }

  private async byAccessToken(token: string): Promise<Principal> {
    const claims = await this.verifiedClaims(token);
    let user = this.sessions.get(claims.sessionId);
    if (user === undefined) {
      user = (await this.opts.sessions.liveUser(claims.sessionId)) ?? null;
      this.sessions.set(claims.sessionId, user);
    }
    if (!user || user.id !== claims.userId) throw unauthenticated("the access token's session has ended (logged out or revoked): log in again");
    if (!user.isActive) throw unauthenticated("the user is deactivated");
    return principalOf(user, this.opts.environment, { kind: "user", sessionId: claims.sessionId });
  }

  private async verifiedClaims(token: string): Promise<AccessClaims> {
    const cached = this.verified.get(token);
    if (cached && Date.now() < cached.until) return cached.claims;
    const claims = await this.opts.tokens.verify(token);
    // verify() required `exp`; the cache never outlives it.
    const exp = Number(decodeJwt(token).exp) * 1000;
    this.verified.set(token, { claims, until: exp });
    return claims;
  }

  private async byApiKey(key: string): Promise<Principal> {
    const parsed = parseApiKey(key);
    if (!parsed) throw unauthenticated("the API key is malformed (expected mlops_<key id>_<secret>)");
    let known = this.keys.get(parsed.keyId);
    if (!known) {
      const found = await this.opts.keys.lookup(parsed.keyId);
      if (!found) throw unauthenticated("the API key is unknown or revoked");
      known = { ...found, principal: principalOf(found.user, this.opts.environment, { kind: "api_key", keyId: parsed.keyId }) };
      this.keys.set(parsed.keyId, known);
    }
    if (!timingSafeEqual(sha256(parsed.secret), known.secretHash)) throw unauthenticated("the API key is unknown or revoked");
    if (!known.user.isActive) throw unauthenticated("the API key's user is deactivated");
    return known.principal;
  }
}
