/**
 * Housekeeping of sessions and refresh tokens (services/api/src/identity/housekeeping.ts and
 * SessionStore.sweep) on a real, migrated database: what is deleted, what must stay (a live session, a
 * spent token whose reuse must still be caught), and that a failed sweep is logged, not thrown.
 */
import { createPool } from "@mlops/common";
import pino from "pino";
import type { Pool } from "pg";
import { SessionHousekeeping, sweepGraceS } from "../../../services/api/src/identity/housekeeping";
import { SessionStore } from "../../../services/api/src/identity/sessions";
import { UserStore } from "../../../services/api/src/identity/users";
import { useTestDatabase } from "../../helpers/postgres";
import { applyIdentitySchema } from "./identity-support";

const db = useTestDatabase("api_housekeeping");
const GRACE_S = sweepGraceS(900);
let pool: Pool;
let sessions: SessionStore;
let userId: number;

beforeAll(async () => {
  pool = createPool(db.url, 4, pino({ level: "silent" }), "housekeeping-test");
  await applyIdentitySchema(pool);
  sessions = new SessionStore(pool, 7 * 24 * 3600);
  userId = (await new UserStore(pool).create({ username: "sweeper", passwordHash: "x", role: "viewer", permissions: [] })).id;
});
afterAll(async () => {
  await pool?.end();
});

/** Moves a session's start and its tokens' expiry into the past. */
async function age(sessionId: string, { startedAgoS, expiredAgoS }: { startedAgoS: number; expiredAgoS?: number }): Promise<void> {
  await pool.query("UPDATE sessions SET created_at = now() - make_interval(secs => $2) WHERE id = $1", [sessionId, startedAgoS]);
  if (expiredAgoS !== undefined) await pool.query("UPDATE refresh_tokens SET expires_at = now() - make_interval(secs => $2) WHERE session_id = $1", [sessionId, expiredAgoS]);
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  for (const started = Date.now(); !condition(); await new Promise((r) => setTimeout(r, 5))) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${condition}`);
  }
}

const count = async (table: string, sessionId: string) =>
  Number((await pool.query(`SELECT count(*) AS n FROM ${table} WHERE ${table === "sessions" ? "id" : "session_id"} = $1`, [sessionId])).rows[0].n);

describe("SessionStore.sweep", () => {
  test("deletes tokens expired beyond the grace and the sessions they leave empty; keeps the rest", async () => {
    const dead = await sessions.start(userId);
    await age(dead.sessionId, { startedAgoS: 10 * 86400, expiredAgoS: GRACE_S + 3600 });
    const recentlyExpired = await sessions.start(userId);
    await age(recentlyExpired.sessionId, { startedAgoS: 10 * 86400, expiredAgoS: 3600 });
    const oldButLive = await sessions.start(userId);
    await age(oldButLive.sessionId, { startedAgoS: 10 * 86400 });

    const removed = await sessions.sweep(GRACE_S);

    expect(removed).toEqual({ refreshTokens: 1, sessions: 1 });
    expect([await count("sessions", dead.sessionId), await count("refresh_tokens", dead.sessionId)]).toEqual([0, 0]);
    expect([await count("sessions", recentlyExpired.sessionId), await count("refresh_tokens", recentlyExpired.sessionId)]).toEqual([1, 1]);
    // The live session still refreshes.
    expect((await sessions.rotate(oldButLive.refreshToken)).sessionId).toBe(oldButLive.sessionId);
    expect(await sessions.sweep(GRACE_S)).toEqual({ refreshTokens: 0, sessions: 0 });
  });

  test("a spent token that has not expired stays, so its reuse still revokes the session", async () => {
    const started = await sessions.start(userId);
    await sessions.rotate(started.refreshToken);
    await age(started.sessionId, { startedAgoS: 10 * 86400 });

    await sessions.sweep(GRACE_S);

    await expect(sessions.rotate(started.refreshToken)).rejects.toMatchObject({ code: "REFRESH_TOKEN_REUSED" });
    expect(await sessions.liveUser(started.sessionId)).toBeUndefined();
  });
});

describe("SessionHousekeeping", () => {
  test("a failed sweep is logged and does not throw; the grace never falls below the access tokens' lifetime", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
    const failing = new SessionHousekeeping({ sessions: { sweep: () => Promise.reject(new Error("database gone")) }, graceS: GRACE_S, logger });
    await expect(failing.sweepOnce()).resolves.toBeUndefined();
    expect(lines.join("")).toContain("database gone");
    await failing.stop();

    expect(sweepGraceS(900)).toBe(86400);
    expect(sweepGraceS(3 * 86400)).toBe(3 * 86400);
  });

  test("sweeps on its timer, one sweep at a time, and stops", async () => {
    let calls = 0;
    let release!: () => void;
    const slow = { sweep: () => (calls++, new Promise<{ refreshTokens: number; sessions: number }>((r) => (release = () => r({ refreshTokens: 0, sessions: 0 })))) };
    const housekeeping = new SessionHousekeeping({ sessions: slow, graceS: GRACE_S, logger: pino({ level: "silent" }), intervalMs: 20 });
    housekeeping.start();
    await until(() => calls === 1);
    await new Promise((r) => setTimeout(r, 100));
    // The first sweep has not finished: no second one started beside it, by the timer or by hand.
    expect(calls).toBe(1);
    void housekeeping.sweepOnce();
    expect(calls).toBe(1);
    release();
    await until(() => calls > 1);
    release();
    await housekeeping.stop();
    const after = calls;
    await new Promise((r) => setTimeout(r, 100));
    expect(calls).toBe(after);
  });
});
