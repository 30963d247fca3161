/**
 * User management, API keys and the audit log of the platform API against a real PostgreSQL, over
 * HTTP: who may call what (admin yes; ml_engineer, data_scientist, viewer 403), 422 with nothing
 * written, 409 for a duplicate name, the last active admin, deactivation ending sessions and keys,
 * API keys shown once and refused after revocation, and audit entries with their outcome.
 */
import { sha256 } from "../../../services/api/src/identity/tokens";
import { useTestDatabase } from "../../helpers/postgres";
import { ADMIN, countRows, expectApiError, startIdentityApi, type IdentityApi, type Reply } from "./identity-support";

const db = useTestDatabase("identity_users");
let api: IdentityApi;
let admin: string;
let adminId: number;
const tokens: Record<string, string> = {};
const ids: Record<string, number> = {};
const PASSWORD = "a-long-password-0123";

beforeAll(async () => {
  api = await startIdentityApi(db.url, { admin: ADMIN });
  const pair = await api.loginPair(ADMIN.username, ADMIN.password);
  admin = pair.access_token;
  adminId = pair.user.id;
  for (const role of ["ml_engineer", "data_scientist", "viewer"]) {
    const res = await api.call("POST", "/users", { token: admin, body: { username: role, password: PASSWORD, role } });
    expect(res.status).toBe(201);
    ids[role] = res.body.id;
    tokens[role] = await api.login(role, PASSWORD);
  }
});
afterAll(() => api.close());

describe("who may manage users and read the audit log", () => {
  const calls = (): [string, string, unknown?][] => [
    ["GET", "/users"],
    ["POST", "/users", { username: `new-${Math.random().toString(36).slice(2)}`, password: PASSWORD, role: "viewer" }],
    ["GET", `/users/${ids.viewer}`],
    ["PUT", `/users/${ids.viewer}`, { permissions: [] }],
    ["POST", `/users/${ids.viewer}/api-keys`, { name: "job" }],
    ["GET", `/users/${ids.viewer}/api-keys`],
    ["DELETE", `/users/${ids.viewer}/api-keys/0123456789abcdef`],
    ["GET", "/audit"],
  ];

  test.each(["ml_engineer", "data_scientist", "viewer"])("%s: 403 FORBIDDEN on every call, nothing written", async (role) => {
    const users = await countRows(api.pool, "users");
    const keys = await countRows(api.pool, "api_keys");
    for (const [method, path, body] of calls()) {
      const res = await api.call(method, path, { token: tokens[role], body });
      expectApiError(res, 403, "FORBIDDEN");
    }
    expect(await countRows(api.pool, "users")).toBe(users);
    expect(await countRows(api.pool, "api_keys")).toBe(keys);
  });

  test("admin: every call is allowed", async () => {
    const statuses: number[] = [];
    for (const [method, path, body] of calls()) statuses.push((await api.call(method, path, { token: admin, body })).status);
    // The unknown key id is the only refusal: 404 after the permission passed.
    expect(statuses).toEqual([200, 201, 200, 200, 201, 200, 404, 200]);
  });

  test("no credentials: 401 before anything else", async () => {
    expectApiError(await api.call("GET", "/users"), 401, "INVALID_TOKEN");
    expectApiError(await api.call("GET", "/audit"), 401, "INVALID_TOKEN");
  });

  test("a permission granted on top of the role opens the call", async () => {
    const res = await api.call("POST", "/users", { token: admin, body: { username: "auditor", password: PASSWORD, role: "viewer", permissions: ["read_audit"] } });
    expect(res.body.permissions).toEqual(["read_audit"]);
    const auditor = await api.login("auditor", PASSWORD);
    expect((await api.call("GET", "/audit", { token: auditor })).status).toBe(200);
    expectApiError(await api.call("GET", "/users", { token: auditor }), 403, "FORBIDDEN");
  });
});

describe("users", () => {
  test("listing: the seed's fields, total, skip and limit", async () => {
    const all = await api.call("GET", "/users?limit=1000", { token: admin });
    expect(all.body.total).toBe(all.body.users.length);
    expect(all.body.users[0]).toEqual({ id: adminId, username: ADMIN.username, role: "admin", permissions: [], is_active: true, created_at: expect.any(String), last_login: expect.any(String) });
    const page = await api.call("GET", "/users?skip=1&limit=2", { token: admin });
    expect(page.body.users.map((u: { id: number }) => u.id)).toEqual(all.body.users.slice(1, 3).map((u: { id: number }) => u.id));
    expect(page.body.total).toBe(all.body.total);
    expectApiError(await api.call("GET", "/users?limit=1001", { token: admin }), 422, "VALIDATION_ERROR");
  });

  test("bad bodies are 422 naming the problem, and nothing is written", async () => {
    const before = await countRows(api.pool, "users");
    const unknownRole = await api.call("POST", "/users", { token: admin, body: { username: "jane", password: PASSWORD, role: "senior_data_scientist" } });
    expectApiError(unknownRole, 422, "VALIDATION_ERROR");
    expect(unknownRole.body.error.details.errors).toEqual([{ loc: "body.role", message: expect.stringContaining('unknown role "senior_data_scientist"') }]);
    const unknownPermission = await api.call("POST", "/users", { token: admin, body: { username: "jane", password: PASSWORD, role: "viewer", permissions: ["read_models", "admin_access"] } });
    expect(unknownPermission.body.error.details.errors).toEqual([{ loc: "body.permissions.1", message: expect.stringContaining('unknown permission "admin_access"') }]);
    const weak = await api.call("POST", "/users", { token: admin, body: { username: "jane", password: "short-pw", role: "viewer" } });
    expect(weak.body.error.details.errors).toEqual([{ loc: "body.password", message: "use at least 12 characters" }]);
    const huge = await api.call("POST", "/users", { token: admin, body: { username: "jane", password: "é".repeat(513), role: "viewer" } });
    expect(huge.body.error.details.errors).toEqual([{ loc: "body.password", message: "use at most 1024 bytes" }]);
    const spaces = await api.call("POST", "/users", { token: admin, body: { username: "jane doe", password: PASSWORD, role: "viewer" } });
    expect(spaces.body.error.details.errors[0].loc).toBe("body.username");
    expect(await countRows(api.pool, "users")).toBe(before);

    const viewer = (await api.call("GET", `/users/${ids.viewer}`, { token: admin })).body;
    for (const body of [{}, { role: "root" }, { is_active: "no" }, { nickname: "x" }, { password: "short-pw" }]) {
      expectApiError(await api.call("PUT", `/users/${ids.viewer}`, { token: admin, body }), 422, "VALIDATION_ERROR");
    }
    expect((await api.call("GET", `/users/${ids.viewer}`, { token: admin })).body).toEqual(viewer);
    expectApiError(await api.call("GET", "/users/abc", { token: admin }), 422, "VALIDATION_ERROR");
    expectApiError(await api.call("GET", "/users/999999", { token: admin }), 404, "USER_NOT_FOUND");
  });

  test("a username taken (ignoring case) is 409", async () => {
    const before = await countRows(api.pool, "users");
    const res = await api.call("POST", "/users", { token: admin, body: { username: "VIEWER", password: PASSWORD, role: "viewer" } });
    expectApiError(res, 409, "USER_EXISTS");
    expect(res.body.error.message).toContain('"VIEWER"');
    expect(await countRows(api.pool, "users")).toBe(before);
  });

  test("the last active admin can be neither deactivated nor demoted; with a second admin it can", async () => {
    for (const body of [{ is_active: false }, { role: "viewer" }]) {
      const res = await api.call("PUT", `/users/${adminId}`, { token: admin, body });
      expectApiError(res, 409, "LAST_ADMIN");
    }
    const second = await api.call("POST", "/users", { token: admin, body: { username: "second-admin", password: PASSWORD, role: "admin" } });
    const secondToken = await api.login("second-admin", PASSWORD);
    // Both demoting the other at once: one of them must stay admin. Over HTTP the loser is refused by the
    // lock (409) or, when the winner committed first, by its own lost permission (403).
    const [a, b] = await Promise.all([
      api.call("PUT", `/users/${second.body.id}`, { token: admin, body: { role: "ml_engineer" } }),
      api.call("PUT", `/users/${adminId}`, { token: secondToken, body: { role: "ml_engineer" } }),
    ]);
    expect([a.status, b.status].filter((s) => s === 200)).toHaveLength(1);
    expect([403, 409]).toContain(a.status === 200 ? b.status : a.status);
    const activeAdmins = async () => (await api.pool.query("SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND is_active")).rows[0].n;
    expect(await activeAdmins()).toBe(1);
    const survivor = a.status === 200 ? admin : secondToken;
    await api.call("PUT", `/users/${a.status === 200 ? second.body.id : adminId}`, { token: survivor, body: { role: "admin" } });
    expect(await activeAdmins()).toBe(2);
    // The same race below the permission check: exactly one demotion passes the lock.
    const users = api.identity.routes.identity;
    const race = await Promise.allSettled([users.updateUser(adminId, { role: "viewer" }), users.updateUser(second.body.id, { isActive: false })]);
    expect(race.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(race.find((r) => r.status === "rejected")).toMatchObject({ reason: { status: 409, code: "LAST_ADMIN" } });
    expect(await activeAdmins()).toBe(1);
    // Put things back: the first admin stays admin for the other tests, the second is deactivated.
    await users.updateUser(adminId, { role: "admin", isActive: true });
    await users.updateUser(second.body.id, { role: "admin", isActive: false });
    admin = await api.login(ADMIN.username, ADMIN.password);
    expect((await api.call("GET", "/auth/me", { token: admin })).body.role).toBe("admin");
  });

  test("deactivating a user ends their sessions, refresh tokens and API keys; reactivating allows a new login", async () => {
    await api.call("POST", "/users", { token: admin, body: { username: "dave", password: PASSWORD, role: "ml_engineer" } });
    const pair = await api.loginPair("dave", PASSWORD);
    const key = (await api.call("POST", `/users/${pair.user.id}/api-keys`, { token: admin, body: { name: "ci" } })).body.key;
    expect((await api.call("GET", "/auth/me", { token: key })).status).toBe(200);
    const off = await api.call("PUT", `/users/${pair.user.id}`, { token: admin, body: { is_active: false } });
    expect(off.body.is_active).toBe(false);
    expectApiError(await api.call("GET", "/auth/me", { token: pair.access_token }), 401, "INVALID_TOKEN");
    expectApiError(await api.call("POST", "/auth/refresh", { token: pair.refresh_token }), 401, "INVALID_TOKEN");
    expectApiError(await api.call("GET", "/auth/me", { token: key }), 401, "INVALID_TOKEN");
    expectApiError(await api.call("POST", "/auth/login", { body: { username: "dave", password: PASSWORD } }), 401, "INVALID_CREDENTIALS");
    await api.call("PUT", `/users/${pair.user.id}`, { token: admin, body: { is_active: true } });
    expect((await api.call("GET", "/auth/me", { token: await api.login("dave", PASSWORD) })).status).toBe(200);
    expect((await api.call("GET", "/auth/me", { token: key })).status).toBe(200);
  });

  test("a new password ends the user's sessions and is the one that logs in", async () => {
    const old = await api.login("data_scientist", PASSWORD);
    const res = await api.call("PUT", `/users/${ids.data_scientist}`, { token: admin, body: { password: "another-password-456" } });
    expect(res.status).toBe(200);
    expectApiError(await api.call("GET", "/auth/me", { token: old }), 401, "INVALID_TOKEN");
    expectApiError(await api.call("POST", "/auth/login", { body: { username: "data_scientist", password: PASSWORD } }), 401, "INVALID_CREDENTIALS");
    tokens.data_scientist = await api.login("data_scientist", "another-password-456");
  });

  test("a change of role applies to live tokens", async () => {
    const token = await api.login("ml_engineer", PASSWORD);
    expect((await api.call("PUT", `/users/${ids.ml_engineer}`, { token: admin, body: { role: "viewer" } })).status).toBe(200);
    expect((await api.call("GET", "/auth/me", { token })).body.role).toBe("viewer");
    await api.call("PUT", `/users/${ids.ml_engineer}`, { token: admin, body: { role: "ml_engineer" } });
  });
});

describe("API keys", () => {
  test("created once with its secret, listed without it, stored hashed, acting as its user, refused after revocation", async () => {
    const created = await api.call("POST", `/users/${ids.viewer}/api-keys`, { token: admin, body: { name: "batch-scoring" } });
    expect(created.status).toBe(201);
    expect(created.headers.get("cache-control")).toBe("no-store");
    expect(created.body).toEqual({ id: expect.stringMatching(/^[0-9a-f]{16}$/), name: "batch-scoring", key: expect.stringMatching(/^mlops_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/), created_at: expect.any(String) });
    const { id, key } = created.body;
    const secret = key.slice(`mlops_${id}_`.length);

    const me = await api.call("GET", "/auth/me", { token: key });
    expect(me.body).toMatchObject({ id: ids.viewer, username: "viewer", role: "viewer", kind: "api_key", key_id: id });
    expectApiError(await api.call("GET", "/users", { token: key }), 403, "FORBIDDEN");
    expectApiError(await api.call("POST", "/auth/logout", { token: key }), 400, "NO_SESSION");

    const listed = await api.call("GET", `/users/${ids.viewer}/api-keys`, { token: admin });
    expect(listed.body.api_keys).toContainEqual({ id, name: "batch-scoring", created_at: created.body.created_at, revoked_at: null });
    expect(listed.text).not.toContain(secret);
    const { rows } = await api.pool.query("SELECT secret_hash FROM api_keys WHERE id = $1", [id]);
    expect(Buffer.compare(rows[0].secret_hash, sha256(secret))).toBe(0);
    const table = await api.pool.query("SELECT row_to_json(k)::text AS r FROM api_keys k");
    expect(table.rows.map((r) => r.r).join()).not.toContain(secret);

    expect((await api.call("DELETE", `/users/${ids.viewer}/api-keys/${id}`, { token: admin })).status).toBe(204);
    expectApiError(await api.call("GET", "/auth/me", { token: key }), 401, "INVALID_TOKEN");
    expect((await api.call("DELETE", `/users/${ids.viewer}/api-keys/${id}`, { token: admin })).status).toBe(204);
    expectApiError(await api.call("DELETE", `/users/${ids.ml_engineer}/api-keys/${id}`, { token: admin }), 404, "API_KEY_NOT_FOUND");
  });

  test("a key with a wrong secret, a malformed key and a key of an unknown user are refused", async () => {
    const { id, key } = (await api.call("POST", `/users/${ids.viewer}/api-keys`, { token: admin, body: { name: "k" } })).body;
    expect((await api.call("GET", "/auth/me", { token: key })).status).toBe(200); // now cached
    const wrong = `mlops_${id}_${"A".repeat(43)}`;
    expectApiError(await api.call("GET", "/auth/me", { token: wrong }), 401, "INVALID_TOKEN");
    expectApiError(await api.call("GET", "/auth/me", { token: "mlops_nope" }), 401, "INVALID_TOKEN");
    expectApiError(await api.call("POST", "/users/999999/api-keys", { token: admin, body: { name: "k" } }), 404, "USER_NOT_FOUND");
    expectApiError(await api.call("GET", "/users/999999/api-keys", { token: admin }), 404, "USER_NOT_FOUND");
    expectApiError(await api.call("POST", `/users/${ids.viewer}/api-keys`, { token: admin, body: { name: "" } }), 422, "VALIDATION_ERROR");
  });
});

describe("the audit log", () => {
  const entriesOf = async (query: string): Promise<any[]> => {
    const res: Reply = await api.call("GET", `/audit?${query}`, { token: admin });
    expect(res.status).toBe(200);
    return res.body.entries;
  };

  test("mutating calls are written with their actor and outcome; GETs are not", async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const ok = await api.call("POST", "/users", { token: admin, body: { username: "erin", password: PASSWORD, role: "viewer" } });
    const dup = await api.call("POST", "/users", { token: admin, body: { username: "erin", password: PASSWORD, role: "viewer" } });
    const denied = await api.call("POST", "/users", { token: tokens.viewer, body: { username: "frank", password: PASSWORD, role: "admin" } });
    const invalid = await api.call("POST", "/users", { token: admin, body: { username: "frank", password: PASSWORD, role: "boss" } });
    await api.call("GET", "/users", { token: admin });
    const entries = await entriesOf(`action=createUser&since=${encodeURIComponent(since)}`);
    const byRequest = (r: Reply) => entries.find((e) => e.request_id === r.headers.get("x-request-id"));
    expect(byRequest(ok)).toEqual({
      id: expect.any(Number),
      at: expect.any(String),
      actor: { kind: "user", user_id: adminId, username: ADMIN.username, key_id: null },
      action: "createUser",
      method: "POST",
      path: "/api/v1/users",
      target: {},
      outcome: "success",
      status: 201,
      request_id: ok.headers.get("x-request-id"),
      detail: { username: "erin", role: "viewer", permissions: [], user_id: ok.body.id },
    });
    expect(byRequest(dup)).toMatchObject({ outcome: "failure", status: 409 });
    expect(byRequest(denied)).toMatchObject({ outcome: "denied", status: 403, actor: { username: "viewer" } });
    expect(byRequest(invalid)).toMatchObject({ outcome: "failure", status: 422 });
    expect(entries.every((e) => e.method !== "GET")).toBe(true);
    expect(JSON.stringify(entries)).not.toContain(PASSWORD);
  });

  test("logins are written for the username tried, newest first; filters by actor, time and paging", async () => {
    await api.call("POST", "/auth/login", { body: { username: "viewer", password: "wrong-password-00" } });
    await api.login("viewer", PASSWORD);
    const logins = await entriesOf("action=login&actor=VIEWER&limit=2");
    expect(logins.map((e) => [e.outcome, e.status, e.actor.kind, e.actor.username])).toEqual([
      ["success", 200, "anonymous", "viewer"],
      ["denied", 401, "anonymous", "viewer"],
    ]);
    expect(Date.parse(logins[0].at)).toBeGreaterThanOrEqual(Date.parse(logins[1].at));
    const all = (await api.call("GET", "/audit?limit=1000", { token: admin })).body;
    const page = (await api.call("GET", "/audit?skip=2&limit=3", { token: admin })).body;
    expect(page.total).toBe(all.total);
    expect(page.entries.map((e: { id: number }) => e.id)).toEqual(all.entries.slice(2, 5).map((e: { id: number }) => e.id));
    expect(await entriesOf(`until=${encodeURIComponent(new Date(Date.now() - 3600_000).toISOString())}`)).toEqual([]);
    const bad = await api.call("GET", "/audit?limit=1001&since=yesterday", { token: admin });
    expectApiError(bad, 422, "VALIDATION_ERROR");
    expect(bad.body.error.details.errors.map((e: { loc: string }) => e.loc).sort()).toEqual(["query.limit", "query.since"]);
  });

  test("an API key's calls are written with the key", async () => {
    const key = (await api.call("POST", `/users/${adminId}/api-keys`, { token: admin, body: { name: "automation" } })).body;
    const res = await api.call("POST", `/users/${ids.viewer}/api-keys`, { token: key.key, body: { name: "made-by-a-key" } });
    expect(res.status).toBe(201);
    const [entry] = await entriesOf("action=createApiKey&limit=1");
    expect(entry).toMatchObject({ actor: { kind: "api_key", user_id: adminId, username: ADMIN.username, key_id: key.id }, target: { id: String(ids.viewer) }, detail: { key_id: res.body.id, name: "made-by-a-key" } });
    expect(JSON.stringify(entry)).not.toContain(res.body.key);
  });
});
