/**
 * The security primitives every service uses (services/common): bearer credentials, what may be shown of
 * a secret, signature age, and per-event refusal of a batch.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  ConfigError,
  MAX_SIGNATURE_AGE_S,
  carriesBearer,
  createServiceApp,
  createLogger,
  isValidRequestId,
  parseEnv,
  redactUrl,
  redactUrlsIn,
  requireBearer,
  shownEnvValue,
  sign,
  splitEventBatch,
  verifySignature,
} from "@mlops/common";
import { z } from "zod";

const TOKEN = "events-token-0123456789";

describe("bearer credentials", () => {
  it("accepts exactly the token, nothing shorter, longer or of another scheme", () => {
    expect(carriesBearer(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(carriesBearer(`Bearer ${TOKEN}x`, TOKEN)).toBe(false);
    expect(carriesBearer(`Bearer ${TOKEN.slice(1)}`, TOKEN)).toBe(false);
    expect(carriesBearer(`Basic ${TOKEN}`, TOKEN)).toBe(false);
    expect(carriesBearer(undefined, TOKEN)).toBe(false);
  });

  it("guards a route: 401 with a challenge and no handler run without the token", async () => {
    let ran = 0;
    const api = createServiceApp({ name: "t", logger: createLogger("t", "silent"), bodyLimitBytes: 1024 });
    api.route("/v1/events", { post: [requireBearer({ token: TOKEN, realm: "t-events", what: "POST /v1/events" }), (_req, res) => void (ran++, res.json({ ok: true }))] });
    const server = http.createServer(api.app).listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/events`;
    try {
      const none = await fetch(url, { method: "POST", body: "{}" });
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toBe('Bearer realm="t-events"');
      expect(((await none.json()) as { code: string }).code).toBe("UNAUTHENTICATED");
      const wrong = await fetch(url, { method: "POST", body: "{}", headers: { authorization: "Bearer not-the-token-at-all" } });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get("www-authenticate")).toContain('error="invalid_token"');
      expect(ran).toBe(0);
      const right = await fetch(url, { method: "POST", body: "{}", headers: { authorization: `Bearer ${TOKEN}` } });
      expect(right.status).toBe(200);
      expect(ran).toBe(1);
    } finally {
      server.close();
    }
  });
});

describe("redaction", () => {
  it("shows a webhook URL by its origin only", () => {
    expect(redactUrl("https://hooks.slack.com/services/T000/B000/XXXXSECRET")).toBe("https://hooks.slack.com/[redacted]");
    expect(redactUrl("https://ci.example.com/trigger?token=abc")).toBe("https://ci.example.com/[redacted]");
    expect(redactUrl("https://user:pw@ci.example.com")).toBe("https://ci.example.com/[redacted]");
    expect(redactUrl("https://ci.example.com")).toBe("https://ci.example.com");
    expect(redactUrl("not a url with secret")).toBe("[redacted]");
    expect(redactUrlsIn('failed: fetch https://u:p@h.example/x?k=1, then http://ok.example')).toBe("failed: fetch https://h.example/[redacted], then http://ok.example");
  });

  it("never shows the value of a secret-named variable, and URLs with credentials by origin", () => {
    expect(shownEnvValue("WEBHOOK_SECRET", "short")).toBe("([redacted], 5 characters)");
    expect(shownEnvValue("DATABASE_URL", "postgresql://u:hunter2@db/monitor")).not.toContain("hunter2");
    expect(shownEnvValue("MLFLOW_TRACKING_URI", "http://admin:hunter2@mlflow:5000")).toBe('"http://mlflow:5000/[redacted]"');
    expect(shownEnvValue("PORT", "80a")).toBe('"80a"');
    const actions = JSON.stringify([{ alert: "DataDriftDetected", action: "retrain", url: "https://ci.example.com/hooks/T0K3N?sig=abc" }]);
    expect(shownEnvValue("ALERT_ACTIONS", actions)).not.toMatch(/T0K3N|sig=abc/);
    expect(shownEnvValue("ALERT_ACTIONS", actions)).toContain("https://ci.example.com/[redacted]");
    expect(shownEnvValue("PORT", undefined)).toBe("(unset)");
  });

  it("config errors name the variable and the problem without the secret", () => {
    const schema = z.object({
      DATABASE_URL: z.string().refine((v) => v.endsWith("/monitor"), "expected the monitor database"),
      EVENTS_TOKEN: z.string().min(16, "use at least 16 characters"),
      MLFLOW_TRACKING_URI: z.url({ protocol: /^https$/ }),
    });
    let error: ConfigError | undefined;
    try {
      parseEnv(schema, { DATABASE_URL: "postgresql://svc:s3cr3t-pw@db:5432/other", EVENTS_TOKEN: "tok-secret", MLFLOW_TRACKING_URI: "http://admin:adminpw@mlflow:5000" });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toContain("DATABASE_URL=");
    expect(error!.message).toContain("expected the monitor database");
    expect(error!.message).toContain("EVENTS_TOKEN=([redacted], 10 characters): use at least 16 characters");
    expect(error!.message).toContain("MLFLOW_TRACKING_URI=");
    for (const secret of ["s3cr3t-pw", "tok-secret", "adminpw"]) expect(error!.message).not.toContain(secret);
  });
});

describe("webhook signatures", () => {
  const secret = "webhook-secret-0123456789";
  const body = '{"alert":"x"}';
  const now = Date.UTC(2026, 11, 3, 12, 0, 0);
  const at = (secondsAgo: number) => String(Math.floor(now / 1000) - secondsAgo);

  it("verifies a fresh signature", () => {
    expect(verifySignature(secret, at(10), body, sign(secret, at(10), body), { now })).toBe(true);
  });

  it("refuses a signature older (or further ahead) than five minutes, however right", () => {
    expect(MAX_SIGNATURE_AGE_S).toBe(300);
    expect(verifySignature(secret, at(301), body, sign(secret, at(301), body), { now })).toBe(false);
    expect(verifySignature(secret, at(-301), body, sign(secret, at(-301), body), { now })).toBe(false);
    const y2000 = String(Date.UTC(2000, 0, 1) / 1000);
    expect(verifySignature(secret, y2000, body, sign(secret, y2000, body), { now })).toBe(false);
  });

  it("refuses a timestamp that is not Unix seconds, a wrong secret and a changed body", () => {
    expect(verifySignature(secret, "1e9", body, sign(secret, "1e9", body), { now })).toBe(false);
    expect(verifySignature(secret, at(1), body, sign("another-secret-012345", at(1), body), { now })).toBe(false);
    expect(verifySignature(secret, at(1), `${body} `, sign(secret, at(1), body), { now })).toBe(false);
  });
});

describe("request ids", () => {
  it("are printable ASCII of 1 to 128 characters", () => {
    expect(isValidRequestId("req-1")).toBe(true);
    expect(isValidRequestId("x".repeat(128))).toBe(true);
    for (const bad of ["", "x".repeat(129), "a\nb", "é", 42, undefined]) expect(isValidRequestId(bad)).toBe(false);
  });
});

describe("splitEventBatch", () => {
  const event = (i: number, extra: Record<string, unknown> = {}) => ({
    id: `r${i}:0`,
    requestId: `r${i}`,
    model: "fraud-detector",
    version: "1",
    variant: "champion",
    timestamp: "2026-12-03T10:00:00Z",
    features: { amount: 1.5 },
    outputs: { label: 1 },
    ...extra,
  });

  it("keeps the good events and refuses only the bad ones, each with its index and reason", () => {
    const split = splitEventBatch({ events: [event(0), event(1, { requestId: "x".repeat(300) }), event(2), event(3, { client: 7 }), event(4, { client: "team-a" })] });
    if ("notABatch" in split) throw new Error(split.notABatch);
    expect(split.events.map((e) => e.id)).toEqual(["r0:0", "r2:0", "r4:0"]);
    expect(split.refused.map((r) => [r.index, r.id])).toEqual([
      [1, "r1:0"],
      [3, "r3:0"],
    ]);
    expect(split.refused[0].error).toMatch(/requestId/);
    expect(split.refused[1].error).toMatch(/client/);
  });

  it("refuses what is not a batch at all", () => {
    expect(splitEventBatch({ nope: [] })).toEqual({ notABatch: expect.stringContaining("events") });
    expect(splitEventBatch({ events: [] })).toEqual({ notABatch: "events is empty" });
    expect(splitEventBatch([event(0)])).toHaveProperty("notABatch");
  });
});
