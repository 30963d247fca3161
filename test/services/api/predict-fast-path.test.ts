/**
 * The fast path of `POST /models/{id}/predict` (services/api/src/http/fast-path.ts) answers like the
 * express chain: the same requests go to the fast path (no query string) and to express (the same
 * endpoint with `?explain=false`, which only express answers), and both answers are compared with each
 * other and with the seed's error bodies. Real serving (demo model) behind both; the rate limit and
 * the metrics are the shell's own.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger } from "@mlops/common";
import { Registry } from "prom-client";
import { createApiShell } from "../../../services/api/src/http/shell";
import { registerPredictionRoutes } from "../../../services/api/src/routes/predictions";
import { features, MODEL, roleAuthenticator, usePredictStack } from "./predict-support";

const stack = usePredictStack("api_fast");
const LIMIT = 40;
let server: http.Server;
let base: string;
let registry: Registry;
/** Requests that reached the express app (the fast path's never do). */
let expressCalls = 0;

beforeAll(async () => {
  registry = new Registry();
  const shell = createApiShell({
    logger: createLogger("api-test", "silent"),
    bodyLimitBytes: 4096,
    authenticator: roleAuthenticator,
    audit: { record: async () => undefined },
    registry,
    rateLimits: { auth: 10, models: 100, predictions: LIMIT, drift: 50, admin: 100 },
    register: (api) => registerPredictionRoutes(api, { serving: stack.servingClient, classNames: stack.classNames }),
  });
  // express's app(req, res) is app.handle(req, res, done) (not in its types).
  const app = shell.app as unknown as { handle: (...a: unknown[]) => unknown };
  const handle = app.handle;
  app.handle = function (this: unknown, ...args: unknown[]) {
    expressCalls++;
    return handle.apply(this, args);
  };
  server = http.createServer(shell.handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
}, 60_000);
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

interface Raw {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

async function post(path: string, opts: { auth?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Raw> {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(opts.auth ? { authorization: opts.auth } : {}), ...opts.headers },
    body: opts.body,
  });
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, text, body };
}

const FAST = (model = MODEL) => `/models/${model}/predict`;
const EXPRESS = (model = MODEL) => `/models/${model}/predict?explain=false`;

/** An answer without what differs per call (timestamps, generated ids, remaining budget). */
function comparable(a: Raw) {
  const body = a.body?.error ? { error: { ...a.body.error, timestamp: "<t>", request_id: "<id>" } } : a.body;
  return {
    status: a.status,
    body,
    contentType: a.headers.get("content-type"),
    wwwAuthenticate: a.headers.get("www-authenticate"),
    retryAfter: a.headers.get("retry-after"),
    limit: a.headers.get("x-ratelimit-limit"),
    window: a.headers.get("x-ratelimit-window"),
    hasRequestId: Boolean(a.headers.get("x-request-id")),
  };
}

const engineer = "Bearer role:ml_engineer";
const cases: { name: string; model?: string; auth?: string; body?: string; expected: { status: number; code: string; details?: object } }[] = [
  { name: "no credentials", body: JSON.stringify({ features: features(1) }), expected: { status: 401, code: "INVALID_TOKEN" } },
  { name: "a bad token", auth: "Bearer nonsense", body: JSON.stringify({ features: features(1) }), expected: { status: 401, code: "INVALID_TOKEN" } },
  { name: "a role without create_predictions", auth: "Bearer role:viewer", body: JSON.stringify({ features: features(1) }), expected: { status: 403, code: "FORBIDDEN", details: { required_permission: "create_predictions" } } },
  {
    name: "features of the wrong type",
    auth: engineer,
    body: JSON.stringify({ features: { ...features(1), amount: "lots" }, prediction_id: "" }),
    expected: { status: 422, code: "VALIDATION_ERROR", details: { errors: expect.arrayContaining([expect.objectContaining({ loc: "body.features.amount" }), expect.objectContaining({ loc: "body.prediction_id" })]) } },
  },
  { name: "no features", auth: engineer, body: JSON.stringify({ metadata: {} }), expected: { status: 422, code: "VALIDATION_ERROR", details: { errors: [expect.objectContaining({ loc: "body.features" })] } } },
  { name: "a missing feature (found against serving's model)", auth: engineer, body: JSON.stringify({ features: { v1: 1 } }), expected: { status: 422, code: "VALIDATION_ERROR", details: { errors: [expect.objectContaining({ loc: "body.features", message: expect.stringContaining("missing required feature") })] } } },
  { name: "an unknown model", model: "no-such-model", auth: engineer, body: JSON.stringify({ features: features(1) }), expected: { status: 404, code: "MODEL_NOT_FOUND", details: { model_id: "no-such-model" } } },
  { name: "malformed JSON", auth: engineer, body: "{features:", expected: { status: 400, code: "INVALID_JSON" } },
  { name: "an empty body", auth: engineer, body: "", expected: { status: 400, code: "INVALID_JSON" } },
  { name: "a body over the limit", auth: engineer, body: JSON.stringify({ features: features(1), metadata: { pad: "x".repeat(5000) } }), expected: { status: 413, code: "PAYLOAD_TOO_LARGE" } },
];

test("the fast path answers without express; with a query string express answers", async () => {
  const before = expressCalls;
  await post(FAST(), { auth: engineer, body: JSON.stringify({ features: features(3) }) });
  await post(FAST(), { body: "{}" });
  expect(expressCalls).toBe(before);
  await post(EXPRESS(), { auth: engineer, body: JSON.stringify({ features: features(3) }) });
  expect(expressCalls).toBe(before + 1);
});

describe("the fast path answers refusals as express does, with the seed's bodies", () => {
  test.each(cases)("$name", async ({ model, auth, body, expected }) => {
    const fast = await post(FAST(model), { auth, body });
    const viaExpress = await post(EXPRESS(model), { auth, body });
    expect(fast.body).toEqual({ error: { code: expected.code, message: expect.any(String), details: expected.details ?? expect.any(Object), timestamp: expect.any(String), request_id: fast.headers.get("x-request-id") } });
    expect(fast.status).toBe(expected.status);
    if (expected.code === "INVALID_JSON") {
      // JSON.parse's wording may differ from body-parser's after the common prefix.
      expect(fast.body.error.message).toMatch(/^request body is (empty|not valid JSON)/);
      expect(viaExpress.body.error.message).toMatch(/^request body is (empty|not valid JSON)/);
      expect({ ...comparable(fast), body: undefined }).toEqual({ ...comparable(viaExpress), body: undefined });
    } else {
      expect(comparable(fast)).toEqual(comparable(viaExpress));
    }
  });

  test("a caller's x-request-id is echoed in the header and the error body", async () => {
    const fast = await post(FAST(), { headers: { "x-request-id": "trace-123" }, body: "{}" });
    expect(fast.headers.get("x-request-id")).toBe("trace-123");
    expect(fast.body.error.request_id).toBe("trace-123");
  });
});

describe("the fast path's successful answer", () => {
  test("is the express chain's answer for the same row, in one body with its content-length", async () => {
    const body = JSON.stringify({ features: features(7), metadata: { source: "t" } });
    const fast = await post(FAST(), { auth: engineer, body });
    const viaExpress = await post(EXPRESS(), { auth: engineer, body });
    expect(fast.status).toBe(200);
    expect(fast.headers.get("content-length")).toBe(String(Buffer.byteLength(fast.text)));
    const strip = (b: any) => ({ ...b, prediction_id: "<id>", timestamp: "<t>", latency_ms: "<ms>" });
    expect(strip(fast.body)).toEqual(strip(viaExpress.body));
    expect(fast.body.prediction_id).toMatch(/^pred_/);
    expect(comparable(fast)).toEqual({ ...comparable(viaExpress), body: comparable(fast).body });
  });
});

describe("one rate limit and one set of metrics for both paths", () => {
  test("the counters are shared: calls on either path use up the same budget", async () => {
    // A principal of its own: the other tests' calls are the engineer's.
    const auth = "Bearer role:data_scientist";
    const remaining: number[] = [];
    for (let i = 0; i < LIMIT; i++) {
      const res = await post(i % 2 ? FAST() : EXPRESS(), { auth, body: "{}" });
      expect(res.status).toBe(422);
      remaining.push(Number(res.headers.get("x-ratelimit-remaining")));
    }
    expect(remaining).toEqual(Array.from({ length: LIMIT }, (_, i) => LIMIT - 1 - i));
    for (const path of [FAST(), EXPRESS()]) {
      const refused = await post(path, { auth, body: JSON.stringify({ features: features(1) }) });
      expect(refused.status).toBe(429);
      expect(refused.body.error).toMatchObject({ code: "RATE_LIMIT_EXCEEDED", details: { limit: LIMIT, window: 60 } });
      expect(refused.headers.get("x-ratelimit-remaining")).toBe("0");
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    }
  });

  test("both paths count in mlops_api_requests_total and the duration histogram", async () => {
    const count = async (status: string) => {
      const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === "mlops_api_requests_total");
      return (metric?.values ?? []).filter((v) => v.labels.operation === "createPrediction" && v.labels.status === status).reduce((n, v) => n + v.value, 0);
    };
    const before = await count("401");
    await post(FAST(), { body: "{}" });
    await post(EXPRESS(), { body: "{}" });
    expect((await count("401")) - before).toBe(2);
    const duration = (await registry.getMetricsAsJSON()).find((m) => m.name === "mlops_api_request_duration_seconds");
    expect(duration?.values.some((v) => v.labels.operation === "createPrediction")).toBe(true);
  });
});
