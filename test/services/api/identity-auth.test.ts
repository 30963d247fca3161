/**
 * Authentication of the platform API against a real PostgreSQL, over HTTP: login (one answer for a
 * wrong password, an unknown or a deactivated user, after the same work), access tokens (claims,
 * expiry, tampering, foreign keys), refresh rotation and reuse detection, logout, the login rate limit,
 * rehashing of weaker password hashes, and passwords never reaching the logs or the audit log.
 */
import { DEFAULT_RATE_LIMITS } from "../../../services/api/src/http/rate-limit";
import { PasswordHasher } from "../../../services/api/src/identity/passwords";
import { SESSION_CHECK_TTL_MS } from "../../../services/api/src/identity/authenticator";
import { useTestDatabase } from "../../helpers/postgres";
import { ADMIN, countRows, decodeJwtClaims, expectApiError, signHs256, SIGNING_KEY, startIdentityApi, type IdentityApi } from "./identity-support";

const db = useTestDatabase("identity_auth");
let api: IdentityApi;
let adminToken: string;

const ALICE = { username: "alice@example.com", password: "alice-password-0123", role: "data_scientist" };

beforeAll(async () => {
  api = await startIdentityApi(db.url, { admin: ADMIN });
  adminToken = await api.login(ADMIN.username, ADMIN.password);
  const created = await api.call("POST", "/users", { token: adminToken, body: ALICE });
  expect(created.status).toBe(201);
});
afterAll(() => api.close());

const sign = async (claims: Record<string, unknown>, opts: { key?: string; exp?: number; aud?: string } = {}) => {
  const now = Math.floor(Date.now() / 1000);
  return signHs256({ role: "admin", iss: "mlops-platform-api", aud: opts.aud ?? "mlops-platform", iat: now - 60, exp: opts.exp ?? now + 600, ...claims }, opts.key ?? SIGNING_KEY);
};

describe("login", () => {
  test("answers the seed's shape with a signed access token of the configured lifetime and a refresh token", async () => {
    const res = await api.call("POST", "/auth/login", { body: { username: ALICE.username, password: ALICE.password } });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.body).toEqual({
      access_token: expect.any(String),
      token_type: "bearer",
      expires_in: 900,
      refresh_token: expect.stringMatching(/^mlr_[A-Za-z0-9_-]{43}$/),
      refresh_expires_in: 3600,
      user: { id: expect.any(Number), username: ALICE.username, role: "data_scientist" },
    });
    const claims = decodeJwtClaims(res.body.access_token);
    expect(claims).toMatchObject({ sub: String(res.body.user.id), role: "data_scientist", iss: "mlops-platform-api", aud: "mlops-platform", sid: expect.any(String), jti: expect.any(String) });
    expect(claims.exp - claims.iat).toBe(900);
    const me = await api.call("GET", "/auth/me", { token: res.body.access_token });
    expect(me.body).toEqual({ id: res.body.user.id, username: ALICE.username, role: "data_scientist", kind: "user", permissions: ["read_models", "deploy_models", "create_predictions", "read_predictions", "write_feedback", "read_drift", "write_drift", "view_metrics"] });
    const stored = await api.call("GET", `/users/${res.body.user.id}`, { token: adminToken });
    expect(Date.now() - Date.parse(stored.body.last_login)).toBeLessThan(60_000);
  });

  test("usernames match ignoring case", async () => {
    expect((await api.call("POST", "/auth/login", { body: { username: "ALICE@example.com", password: ALICE.password } })).status).toBe(200);
  });

  test("a wrong password, an unknown user and a deactivated user get the same 401, after comparable work", async () => {
    const bob = await api.call("POST", "/users", { token: adminToken, body: { username: "bob", password: "bob-password-0123", role: "viewer" } });
    await api.call("PUT", `/users/${bob.body.id}`, { token: adminToken, body: { is_active: false } });
    const timed = async (username: string, password: string) => {
      const started = performance.now();
      const res = await api.call("POST", "/auth/login", { body: { username, password } });
      return { res, ms: performance.now() - started };
    };
    const wrong = await timed(ALICE.username, "not-the-password-1");
    const unknown = await timed("nobody@example.com", "not-the-password-1");
    const inactive = await timed("bob", "bob-password-0123");
    for (const { res } of [wrong, unknown, inactive]) {
      expectApiError(res, 401, "INVALID_CREDENTIALS");
      expect(res.body.error.message).toBe("invalid username or password");
      expect(res.body.error.details).toEqual({});
    }
    // Without the dummy verification an unknown user answers ~100x faster than a wrong password.
    const medians = async (username: string) => {
      const ms: number[] = [];
      for (let i = 0; i < 5; i++) ms.push((await timed(username, "not-the-password-1")).ms);
      return ms.sort((a, b) => a - b)[2];
    };
    const ratio = (await medians("nobody@example.com")) / (await medians(ALICE.username));
    expect(ratio).toBeGreaterThan(0.33);
    expect(ratio).toBeLessThan(3);
  });

  test("a malformed login body is 422 naming the fields, without echoing the password", async () => {
    const res = await api.call("POST", "/auth/login", { body: { username: "", password: 12345678901234 } });
    expectApiError(res, 422, "VALIDATION_ERROR");
    expect(res.body.error.details.errors.map((e: { loc: string }) => e.loc).sort()).toEqual(["body.password", "body.username"]);
    expect(res.text).not.toContain("12345678901234");
  });

  test("a hash made with weaker scrypt parameters is replaced at the next successful login", async () => {
    const weak = await new PasswordHasher({ N: 2 ** 10, r: 8, p: 1 }).hash(ALICE.password);
    await api.pool.query("UPDATE users SET password_hash = $1 WHERE username = $2", [weak, ALICE.username]);
    await api.login(ALICE.username, ALICE.password);
    const { rows } = await api.pool.query("SELECT password_hash FROM users WHERE username = $1", [ALICE.username]);
    expect(rows[0].password_hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    await api.login(ALICE.username, ALICE.password);
  });
});

describe("access tokens", () => {
  const sub = async () => String((await api.loginPair(ALICE.username, ALICE.password)).user.id);
  const sid = async (token: string) => decodeJwtClaims(token).sid as string;

  test("no or a malformed Authorization header is 401 INVALID_TOKEN", async () => {
    const none = await api.call("GET", "/auth/me");
    expectApiError(none, 401, "INVALID_TOKEN");
    expect(none.body.error.message).toBe("authentication required");
    expectApiError(await api.call("GET", "/auth/me", { headers: { authorization: "Basic abc" } }), 401, "INVALID_TOKEN");
  });

  test("an expired token is refused as expired, without echoing it", async () => {
    const token = await api.login(ALICE.username, ALICE.password);
    const expired = await sign({ sub: String(decodeJwtClaims(token).sub), sid: await sid(token) }, { exp: Math.floor(Date.now() / 1000) - 30 });
    const res = await api.call("GET", "/auth/me", { token: expired });
    expectApiError(res, 401, "INVALID_TOKEN");
    expect(res.body.error.message).toMatch(/expired/);
    expect(res.text).not.toContain(expired);
  });

  test("a token that expires during its use stops working once its lifetime (plus 5 s tolerance) has passed", async () => {
    const short = await startIdentityApi(db.url, { env: { ACCESS_TOKEN_TTL_S: 1 } });
    try {
      const token = await short.login(ALICE.username, ALICE.password);
      expect((await short.call("GET", "/auth/me", { token })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1000 + 5000 + 1100));
      const res = await short.call("GET", "/auth/me", { token });
      expectApiError(res, 401, "INVALID_TOKEN");
      expect(res.body.error.message).toMatch(/expired/);
    } finally {
      await short.close();
    }
  }, 30_000);

  test("a tampered token, a token signed with another key, for another audience or with alg none is invalid", async () => {
    const token = await api.login(ALICE.username, ALICE.password);
    const [h, p, s] = token.split(".");
    const payload = JSON.parse(Buffer.from(p, "base64url").toString());
    const tampered = [h, Buffer.from(JSON.stringify({ ...payload, role: "admin" })).toString("base64url"), s].join(".");
    const claims = { sub: await sub(), sid: await sid(token) };
    const foreign = await sign(claims, { key: "another-key-of-at-least-32-characters!!" });
    const otherAudience = await sign(claims, { aud: "someone-else" });
    const none = [Buffer.from('{"alg":"none"}').toString("base64url"), p, ""].join(".");
    for (const bad of [tampered, foreign, otherAudience, none, "not-a-jwt"]) {
      const res = await api.call("GET", "/auth/me", { token: bad });
      expectApiError(res, 401, "INVALID_TOKEN");
      expect(res.body.error.message).toMatch(/invalid/);
      expect(res.text).not.toContain(bad);
    }
    // The same claims signed with the right key pass: the refusals above are the signature's and audience's.
    expect((await api.call("GET", "/auth/me", { token: await sign({ ...claims, role: "data_scientist" }) })).status).toBe(200);
  });
});

describe("refresh tokens", () => {
  test("rotate: each works once, by header or body, and the new access token works", async () => {
    const first = await api.loginPair(ALICE.username, ALICE.password);
    const second = await api.call("POST", "/auth/refresh", { token: first.refresh_token });
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.refresh_token);
    expect(decodeJwtClaims(second.body.access_token).sid).toBe(decodeJwtClaims(first.access_token).sid);
    expect((await api.call("GET", "/auth/me", { token: second.body.access_token })).status).toBe(200);
    const third = await api.call("POST", "/auth/refresh", { body: { refresh_token: second.body.refresh_token } });
    expect(third.status).toBe(200);
    expect((await api.call("GET", "/auth/me", { token: third.body.access_token })).body.username).toBe(ALICE.username);
  });

  test("an unknown refresh token or none at all is 401 INVALID_TOKEN", async () => {
    expectApiError(await api.call("POST", "/auth/refresh", { token: "mlr_" + "A".repeat(43) }), 401, "INVALID_TOKEN");
    expectApiError(await api.call("POST", "/auth/refresh"), 401, "INVALID_TOKEN");
    expectApiError(await api.call("POST", "/auth/refresh", { body: "{nope" }), 400, "INVALID_JSON");
  });

  test("reuse of a used refresh token revokes the session: its newest refresh token and its access tokens stop working", async () => {
    const first = await api.loginPair(ALICE.username, ALICE.password);
    const second = (await api.call("POST", "/auth/refresh", { token: first.refresh_token })).body;
    const reused = await api.call("POST", "/auth/refresh", { token: first.refresh_token });
    expectApiError(reused, 401, "REFRESH_TOKEN_REUSED");
    expectApiError(await api.call("POST", "/auth/refresh", { token: second.refresh_token }), 401, "INVALID_TOKEN");
    expectApiError(await api.call("GET", "/auth/me", { token: second.access_token }), 401, "INVALID_TOKEN");
    expectApiError(await api.call("GET", "/auth/me", { token: first.access_token }), 401, "INVALID_TOKEN");
    const sid = decodeJwtClaims(first.access_token).sid;
    const { rows } = await api.pool.query("SELECT revoked_reason FROM sessions WHERE id = $1", [sid]);
    expect(rows[0].revoked_reason).toBe("refresh token reused");
    const audit = await api.call("GET", `/audit?action=refreshToken&actor=${encodeURIComponent(ALICE.username)}`, { token: adminToken });
    const entry = audit.body.entries.find((e: any) => e.request_id === reused.body.error.request_id);
    expect(entry).toMatchObject({ outcome: "denied", status: 401, actor: { kind: "anonymous", username: ALICE.username }, detail: { refused: "REFRESH_TOKEN_REUSED", session_id: sid } });
  });

  test("two refreshes racing with one token: exactly one succeeds, the other is the reuse", async () => {
    const pair = await api.loginPair(ALICE.username, ALICE.password);
    const answers = await Promise.all([1, 2].map(() => api.call("POST", "/auth/refresh", { token: pair.refresh_token })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 401]);
    expect(answers.find((a) => a.status === 401)!.body.error.code).toBe("REFRESH_TOKEN_REUSED");
  });
});

describe("logout", () => {
  test("ends the session: its refresh token and access token are refused afterwards, other sessions live on", async () => {
    const pair = await api.loginPair(ALICE.username, ALICE.password);
    const other = await api.login(ALICE.username, ALICE.password);
    const res = await api.call("POST", "/auth/logout", { token: pair.access_token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ logged_out: true });
    expectApiError(await api.call("GET", "/auth/me", { token: pair.access_token }), 401, "INVALID_TOKEN");
    expectApiError(await api.call("POST", "/auth/refresh", { token: pair.refresh_token }), 401, "INVALID_TOKEN");
    expect((await api.call("GET", "/auth/me", { token: other })).status).toBe(200);
  });

  test("another replica honours a logged-out access token for at most the session check's 5 s", async () => {
    const replica = await startIdentityApi(db.url);
    try {
      const token = await api.login(ALICE.username, ALICE.password);
      expect((await replica.call("GET", "/auth/me", { token })).status).toBe(200); // cached there now
      expect((await api.call("POST", "/auth/logout", { token })).status).toBe(200);
      expect((await replica.call("GET", "/auth/me", { token })).status).toBe(200);
      await new Promise((r) => setTimeout(r, SESSION_CHECK_TTL_MS + 200));
      expectApiError(await replica.call("GET", "/auth/me", { token }), 401, "INVALID_TOKEN");
    } finally {
      await replica.close();
    }
  }, 30_000);
});

test("the 11th login of an address within a minute is 429 with the seed's body and X-RateLimit headers", async () => {
  const limited = await startIdentityApi(db.url, { rateLimits: DEFAULT_RATE_LIMITS });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await limited.call("POST", "/auth/login", { body: { username: ALICE.username, password: i % 2 ? ALICE.password : "wrong-password-000" } });
      statuses.push(res.status);
      expect(res.headers.get("x-ratelimit-limit")).toBe("10");
      expect(res.headers.get("x-ratelimit-remaining")).toBe(String(9 - i));
    }
    expect(statuses).toEqual([401, 200, 401, 200, 401, 200, 401, 200, 401, 200]);
    const eleventh = await limited.call("POST", "/auth/login", { body: { username: ALICE.username, password: ALICE.password } });
    expectApiError(eleventh, 429, "RATE_LIMIT_EXCEEDED");
    expect(eleventh.body.error.details).toEqual({ limit: 10, window: 60, reset_time: expect.any(String) });
    expect(eleventh.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(eleventh.headers.get("x-ratelimit-window")).toBe("60");
    expect(Number(eleventh.headers.get("x-ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000);
  } finally {
    await limited.close();
  }
});

test("passwords never reach the logs, answers or the audit log", async () => {
  const secretOne = "first-Secret-Passw0rd-xyz";
  const secretTwo = "second-Secret-Passw0rd-xyz";
  const before = await countRows(api.pool, "audit_log");
  const created = await api.call("POST", "/users", { token: adminToken, body: { username: "carol", password: secretOne, role: "viewer" } });
  expect(created.status).toBe(201);
  await api.login("carol", secretOne);
  await api.call("POST", "/auth/login", { body: { username: "carol", password: secretTwo } });
  await api.call("PUT", `/users/${created.body.id}`, { token: adminToken, body: { password: secretTwo } });
  await api.call("PUT", `/users/${created.body.id}`, { token: adminToken, body: { password: "shortpw1" } });
  await api.call("POST", "/users", { token: adminToken, body: { username: "carol", password: secretOne, role: "viewer" } });
  await api.login("carol", secretTwo);
  expect(await countRows(api.pool, "audit_log")).toBeGreaterThan(before);
  const { rows } = await api.pool.query("SELECT detail::text AS d, target::text AS t FROM audit_log");
  const audit = rows.map((r) => r.d + r.t).join("\n");
  for (const secret of [secretOne, secretTwo, "shortpw1"]) {
    expect(api.logText()).not.toContain(secret);
    expect(audit).not.toContain(secret);
  }
  // The log did see these calls (it is not just empty).
  expect(api.logText()).toContain("/api/v1/auth/login");
});
