/**
 * The shared service app (services/common/src/express-app.ts) over real HTTP: request ids, body limits,
 * the platform's error body for 400/404/405/413/500, URI decoding errors, request logs, and the app run
 * by startService (probes, asynchronous readiness, graceful stop with a request in flight).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { HttpError, createRegistry, createServiceApp, requestIdOf, startService, type ServiceApp } from "@mlops/common";
import pino from "pino";

/** A logger whose lines the test reads. */
function capturingLogger() {
  const lines: Record<string, any>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
}

/** node:http rather than fetch: it sends what fetch refuses (odd header bytes, chunked bodies, raw paths). */
function send(port: number, method: string, path: string, opts: { body?: string | Buffer; headers?: Record<string, string>; chunked?: boolean } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...opts.headers };
    if (opts.body !== undefined && !opts.chunked) headers["content-length"] = Buffer.byteLength(opts.body);
    const req = http.request({ host: "127.0.0.1", port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode!, headers: res.headers, text, json });
      });
    });
    req.on("error", reject);
    if (opts.chunked && opts.body !== undefined) {
      const body = Buffer.from(opts.body);
      for (let i = 0; i < body.length; i += 1000) req.write(body.subarray(i, i + 1000));
    } else if (opts.body !== undefined) {
      req.write(opts.body);
    }
    req.end();
  });
}

function build(logger: pino.Logger): ServiceApp {
  const api = createServiceApp({
    name: "test",
    logger,
    bodyLimitBytes: 1024,
    mapError: (err) => (err instanceof Error && err.message === "database down" ? new HttpError(503, "DATABASE_UNAVAILABLE", "the database is unavailable", { "retry-after": "1" }) : err),
  });
  api
    .route("/v1/echo", { post: [api.json, (req, res) => void res.json({ got: req.body, requestId: requestIdOf(res) })] })
    .route("/v1/bytes", { post: async (req, res) => void res.json({ bytes: (await api.readRaw(req, res)).length }) })
    .route("/v1/items/:name", { get: (req, res) => void res.json({ name: req.params.name }), delete: (_req, res) => void res.status(204).end() })
    .route("/v1/teapot", {
      get: () => {
        throw new HttpError(418, "TEAPOT", "short and stout", { "x-extra": "1" });
      },
    })
    .route("/v1/boom", {
      get: async () => {
        throw new Error("secret detail at /srv/app/internal.ts");
      },
    })
    .route("/v1/db", {
      get: async () => {
        throw new Error("database down");
      },
    });
  return api;
}

describe("createServiceApp", () => {
  const { logger, lines } = capturingLogger();
  const api = build(logger);
  const server = http.createServer(api.app);
  let port: number;

  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  describe("request ids", () => {
    test("a valid incoming x-request-id is kept and echoed; handlers see it", async () => {
      const res = await send(port, "POST", "/v1/echo", { body: "{}", headers: { "x-request-id": "req-42 abc/DEF:9" } });
      expect(res.headers["x-request-id"]).toBe("req-42 abc/DEF:9");
      expect(res.json).toEqual({ got: {}, requestId: "req-42 abc/DEF:9" });
    });

    test("none, too long or not printable ASCII: a fresh UUID instead", async () => {
      const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
      const none = await send(port, "GET", "/v1/items/a");
      expect(none.headers["x-request-id"]).toMatch(uuid);
      const long = await send(port, "GET", "/v1/items/a", { headers: { "x-request-id": "x".repeat(129) } });
      expect(long.headers["x-request-id"]).toMatch(uuid);
      expect((await send(port, "GET", "/v1/items/a", { headers: { "x-request-id": "x".repeat(128) } })).headers["x-request-id"]).toBe("x".repeat(128));
      const latin1 = await send(port, "GET", "/v1/items/a", { headers: { "x-request-id": "caf\u00e9" } });
      expect(latin1.headers["x-request-id"]).toMatch(uuid);
      expect(none.headers["x-request-id"]).not.toBe(long.headers["x-request-id"]);
    });
  });

  describe("bodies", () => {
    test("JSON of any content type is parsed", async () => {
      const res = await send(port, "POST", "/v1/echo", { body: '{"a": [1, 2]}', headers: { "content-type": "text/plain" } });
      expect([res.status, res.json.got]).toEqual([200, { a: [1, 2] }]);
      expect(res.headers["content-type"]).toMatch(/^application\/json/);
    });

    test("malformed or empty JSON: 400 INVALID_JSON", async () => {
      const broken = await send(port, "POST", "/v1/echo", { body: '{"a": ', headers: { "content-type": "application/json" } });
      expect(broken.status).toBe(400);
      expect(broken.json.code).toBe("INVALID_JSON");
      expect(broken.json.error).toMatch(/^request body is not valid JSON: /);
      expect(Object.keys(broken.json).sort()).toEqual(["code", "error"]);
      const empty = await send(port, "POST", "/v1/echo", { body: "" });
      expect([empty.status, empty.json]).toEqual([400, { error: "request body is empty; expected a JSON document", code: "INVALID_JSON" }]);
      const none = await send(port, "POST", "/v1/echo");
      expect([none.status, none.json.code]).toEqual([400, "INVALID_JSON"]);
    });

    test("over the limit: 413 PAYLOAD_TOO_LARGE, declared or streamed", async () => {
      const body = JSON.stringify({ blob: "x".repeat(2000) });
      const declared = await send(port, "POST", "/v1/echo", { body });
      expect([declared.status, declared.json]).toEqual([413, { error: "request body exceeds the limit of 1024 bytes", code: "PAYLOAD_TOO_LARGE" }]);
      const streamed = await send(port, "POST", "/v1/bytes", { body, chunked: true });
      expect([streamed.status, streamed.json.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
      expect(streamed.headers["x-request-id"]).toBeDefined();
    });

    test("raw bodies are the bytes; none is empty", async () => {
      expect((await send(port, "POST", "/v1/bytes", { body: "x".repeat(1024) })).json).toEqual({ bytes: 1024 });
      expect((await send(port, "POST", "/v1/bytes", { body: "abc", chunked: true })).json).toEqual({ bytes: 3 });
      expect((await send(port, "POST", "/v1/bytes")).json).toEqual({ bytes: 0 });
    });
  });

  describe("routing", () => {
    test("unknown path: 404 NOT_FOUND with the error body", async () => {
      const res = await send(port, "GET", "/v1/nothing");
      expect([res.status, res.json]).toEqual([404, { error: "no route for GET /v1/nothing", code: "NOT_FOUND" }]);
      // Case and trailing slash matter, as they did before express.
      expect((await send(port, "GET", "/v1/ITEMS/a")).status).toBe(404);
      expect((await send(port, "POST", "/v1/echo/", { body: "{}" })).status).toBe(404);
    });

    test("known path, another method: 405 METHOD_NOT_ALLOWED with Allow", async () => {
      const res = await send(port, "PUT", "/v1/items/a", { body: "{}" });
      expect([res.status, res.json]).toEqual([405, { error: "PUT is not allowed on /v1/items/a", code: "METHOD_NOT_ALLOWED" }]);
      expect(res.headers.allow).toBe("GET, HEAD, DELETE");
      const get = await send(port, "GET", "/v1/echo");
      expect([get.status, get.json.code, get.headers.allow]).toEqual([405, "METHOD_NOT_ALLOWED", "POST"]);
      expect((await send(port, "DELETE", "/v1/items/a")).status).toBe(204);
    });

    test("path parameters are decoded; a malformed %-escape is 400 INVALID_PATH, not 500", async () => {
      expect((await send(port, "GET", "/v1/items/caf%C3%A9%2Fx")).json).toEqual({ name: "café/x" });
      const res = await send(port, "GET", "/v1/items/%E0%A4%A");
      expect(res.status).toBe(400);
      expect(res.json.code).toBe("INVALID_PATH");
      expect(res.json.error).toMatch(/malformed %-escape/);
    });
  });

  describe("errors", () => {
    test("an HttpError keeps its status, code and headers", async () => {
      const res = await send(port, "GET", "/v1/teapot");
      expect([res.status, res.json, res.headers["x-extra"]]).toEqual([418, { error: "short and stout", code: "TEAPOT" }, "1"]);
    });

    test("anything else is 500 INTERNAL without a stack or message; the log has both and the request id", async () => {
      const res = await send(port, "GET", "/v1/boom", { headers: { "x-request-id": "boom-1" } });
      expect([res.status, res.json]).toEqual([500, { error: "internal server error", code: "INTERNAL" }]);
      expect(res.text).not.toMatch(/secret|internal\.ts|at /);
      const logged = lines.find((l) => l.msg === "request failed" && l.reqId === "boom-1");
      expect(logged).toMatchObject({ level: 50, method: "GET", path: "/v1/boom", err: { message: "secret detail at /srv/app/internal.ts" } });
      expect(logged!.err.stack).toMatch(/Error: secret detail/);
    });

    test("mapError turns a failure into the HttpError to answer", async () => {
      const res = await send(port, "GET", "/v1/db");
      expect([res.status, res.json, res.headers["retry-after"]]).toEqual([503, { error: "the database is unavailable", code: "DATABASE_UNAVAILABLE" }, "1"]);
    });
  });

  test("one log line per request: debug, and info for 5xx other than 503", async () => {
    await send(port, "GET", "/v1/items/logged", { headers: { "x-request-id": "log-ok" } });
    await send(port, "GET", "/v1/boom", { headers: { "x-request-id": "log-500" } });
    await send(port, "GET", "/v1/db", { headers: { "x-request-id": "log-503" } });
    const line = (id: string) => lines.filter((l) => l.msg === "request" && l.reqId === id);
    expect(line("log-ok")).toEqual([expect.objectContaining({ level: 20, method: "GET", path: "/v1/items/logged", status: 200, ms: expect.any(Number) })]);
    expect(line("log-500")).toEqual([expect.objectContaining({ level: 30, status: 500 })]);
    expect(line("log-503")).toEqual([expect.objectContaining({ level: 20, status: 503 })]);
  });

  test("a path is declared once", () => {
    expect(() => api.route("/v1/echo", { get: (_req, res) => void res.end() })).toThrow(/declared twice/);
  });
});

describe("startService runs the app", () => {
  test("probes (asynchronous readiness), the app's routes, and a graceful stop that finishes the request in flight", async () => {
    const { logger } = capturingLogger();
    const api = createServiceApp({ name: "test", logger, bodyLimitBytes: 1024 });
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inFlight = new Promise<void>((r) => (entered = r));
    api.route("/v1/slow", {
      post: async (req, res) => {
        const body = await api.readJson(req, res);
        entered();
        await released;
        res.json({ done: body });
      },
    });
    let ready = false;
    const order: string[] = [];
    const service = await startService({
      name: "test",
      port: 0,
      metricsPort: 0,
      host: "127.0.0.1",
      handler: api.app,
      registry: createRegistry(),
      logger,
      isReady: async () => ready,
      waitingFor: () => (ready ? [] : [{ what: "thing", uri: "x", reason: "not yet", since: "2026-01-01T00:00:00.000Z", attempts: 1 }]),
      onShutdown: async () => void order.push("onShutdown"),
    });
    const port = service.apiPort;
    expect((await send(port, "GET", "/health/live")).json).toEqual({ status: "alive" });
    const notReady = await send(port, "GET", "/health/ready");
    expect([notReady.status, notReady.json.status, notReady.json.waitingFor[0].what]).toEqual([503, "not ready", "thing"]);
    ready = true;
    expect([(await send(port, "GET", "/health/ready")).status]).toEqual([200]);
    expect((await send(port, "GET", "/v1/none")).json.code).toBe("NOT_FOUND");

    const pending = send(port, "POST", "/v1/slow", { body: '{"n": 1}' });
    await inFlight;
    const closed = service.close().then(() => order.push("closed"));
    await new Promise((r) => setTimeout(r, 50));
    expect(order).toEqual([]); // the stop waits for the request in flight
    release();
    const res = await pending;
    await closed;
    expect([res.status, res.json]).toEqual([200, { done: { n: 1 } }]);
    expect(order).toEqual(["onShutdown", "closed"]);
  });
});
