/**
 * The lean HTTP/1.1 client (services/api/src/predict/keep-alive-http.ts) against real servers: node:http
 * for what the platform's services send, raw TCP servers for framings and failures node:http would not
 * produce on demand.
 */
import { execFile } from "node:child_process";
import http from "node:http";
import { promisify } from "node:util";
import net, { type AddressInfo } from "node:net";
import { KeepAliveHttpClient, KeepAliveHttpError } from "../../../services/api/src/predict/keep-alive-http";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function listen(server: http.Server | net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => new Promise<void>((resolve) => {
    if (server instanceof http.Server) server.closeAllConnections();
    server.close(() => resolve());
  }));
  return (server.address() as AddressInfo).port;
}

function client(port: number, extra: Partial<ConstructorParameters<typeof KeepAliveHttpClient>[0]> = {}): KeepAliveHttpClient {
  const c = new KeepAliveHttpClient({ host: "127.0.0.1", port, timeoutMs: 2_000, ...extra });
  closers.unshift(async () => c.close());
  return c;
}

/** A TCP server that answers each request's bytes with `reply(requestText, socket)`. */
async function rawServer(reply: (request: string, socket: net.Socket) => void): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let pending = "";
    socket.on("data", (d) => {
      pending += d.toString("latin1");
      const end = pending.indexOf("\r\n\r\n");
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(pending.slice(0, end))?.[1] ?? 0);
      if (pending.length < end + 4 + length) return;
      const request = pending.slice(0, end + 4 + length);
      pending = pending.slice(end + 4 + length);
      reply(request, socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
  return { port: (server.address() as AddressInfo).port, connections: () => connections };
}

describe("KeepAliveHttpClient against node:http", () => {
  it("sends method, path, headers and a UTF-8 body, and reuses one connection for sequential calls", async () => {
    const seen: { method?: string; url?: string; auth?: string; body: string; remotePort?: number }[] = [];
    const port = await listen(
      http.createServer((req, res) => {
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (c) => (body += c));
        req.on("end", () => {
          seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body, remotePort: req.socket.remotePort });
          res.setHeader("content-type", "application/json");
          res.end(JSON.stringify({ echo: body }));
        });
      }),
    );
    const c = client(port);
    for (let i = 0; i < 3; i++) {
      const answer = await c.request("POST", "/v2/models/m/infer?x=1", { authorization: "Bearer k" }, JSON.stringify({ text: `é ${i}` }));
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body.toString("utf8"))).toEqual({ echo: JSON.stringify({ text: `é ${i}` }) });
    }
    expect(seen.map((s) => [s.method, s.url, s.auth])).toEqual(Array(3).fill(["POST", "/v2/models/m/infer?x=1", "Bearer k"]));
    expect(new Set(seen.map((s) => s.remotePort)).size).toBe(1);
  });

  it("reads chunked answers (res.write without a length) and 204 without a body", async () => {
    const port = await listen(
      http.createServer((req, res) => {
        if (req.url === "/empty") {
          res.statusCode = 204;
          res.end();
          return;
        }
        res.write("a".repeat(70_000));
        setTimeout(() => res.end("end"), 5);
      }),
    );
    const c = client(port);
    const big = await c.request("GET", "/big", {});
    expect(big.body.length).toBe(70_003);
    expect(big.body.toString("latin1").endsWith("aend")).toBe(true);
    const empty = await c.request("GET", "/empty", {});
    expect(empty).toEqual({ status: 204, body: Buffer.alloc(0) });
  });

  it("answers many concurrent calls within maxSockets connections, each with its own answer", async () => {
    const remotePorts = new Set<number>();
    const port = await listen(
      http.createServer((req, res) => {
        remotePorts.add(req.socket.remotePort!);
        res.statusCode = 200 + (Number(req.url!.split("/").pop()) % 4);
        setTimeout(() => res.end(req.url), 2);
      }),
    );
    const c = client(port, { maxSockets: 3 });
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => c.request("GET", `/n/${i}`, {})));
    expect(answers.map((a) => [a.status, a.body.toString()])).toEqual(Array.from({ length: 30 }, (_, i) => [200 + (i % 4), `/n/${i}`]));
    expect(remotePorts.size).toBeLessThanOrEqual(3);
  });

  it("sends a latin1 header value as latin1 bytes, beside a UTF-8 body", async () => {
    let routingKey: string | undefined;
    let body = "";
    const port = await listen(
      http.createServer((req, res) => {
        routingKey = req.headers["x-routing-key"] as string;
        req.setEncoding("utf8");
        req.on("data", (c) => (body += c));
        req.on("end", () => res.end("ok"));
      }),
    );
    await client(port).request("POST", "/", { "x-routing-key": "café" }, "ünïcode");
    expect(routingKey).toBe("café");
    expect(body).toBe("ünïcode");
  });

  it("names the origin in the Host header, an IPv6 address in brackets", async () => {
    const hosts: string[] = [];
    const server = http.createServer((req, res) => {
      hosts.push(req.headers.host!);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "::1", resolve));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as AddressInfo).port;
    const c = new KeepAliveHttpClient({ host: "::1", port, timeoutMs: 2_000 });
    closers.unshift(async () => c.close());
    expect((await c.request("GET", "/", {})).status).toBe(200);
    expect(hosts).toEqual([`[::1]:${port}`]);
  });

  it("refuses a header value with CR or LF before sending anything", async () => {
    const { port, connections } = await rawServer(() => undefined);
    await expect(client(port).request("GET", "/", { "x-routing-key": "a\r\nx-admin: 1" })).rejects.toMatchObject({ code: "ERR_INVALID_HEADER" });
    expect(connections()).toBe(0);
  });
});

describe("KeepAliveHttpClient framing and failures", () => {
  it("skips a 100 Continue, reads a close-delimited body, and does not reuse that connection", async () => {
    const server = await rawServer((_request, socket) => {
      socket.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil");
      setTimeout(() => socket.end(" close"), 5);
    });
    const c = client(server.port);
    expect((await c.request("GET", "/", {})).body.toString()).toBe("until close");
    expect((await c.request("GET", "/", {})).body.toString()).toBe("until close");
    expect(server.connections()).toBe(2);
  });

  it("reads chunked bodies split at any byte, with chunk extensions and trailers", async () => {
    const answer = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nx-trailer: t\r\n\r\n";
    const server = await rawServer((_request, socket) => {
      // One byte per write: every parse step meets a partial buffer.
      let i = 0;
      const next = () => {
        if (i < answer.length) socket.write(answer[i++], next);
      };
      socket.setNoDelay(true);
      next();
    });
    const c = client(server.port);
    const got = await c.request("GET", "/", {});
    expect(got).toEqual({ status: 200, body: Buffer.from("hello world") });
    expect((await c.request("GET", "/", {})).body.toString()).toBe("hello world");
    expect(server.connections()).toBe(1);
  });

  it("fails a request whose connection closes mid-answer, and the next call opens a new connection", async () => {
    let calls = 0;
    const server = await rawServer((_request, socket) => {
      if (++calls === 1) return void socket.end("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc");
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    });
    const c = client(server.port);
    await expect(c.request("GET", "/", {})).rejects.toMatchObject({ name: "KeepAliveHttpError", message: "the connection closed before the answer was complete" });
    expect((await c.request("GET", "/", {})).body.toString()).toBe("ok");
    expect(server.connections()).toBe(2);
  });

  it("times out a request that gets no answer, and names the wait", async () => {
    const server = await rawServer(() => undefined);
    await expect(client(server.port, { timeoutMs: 150 }).request("GET", "/", {})).rejects.toMatchObject({ code: "ETIMEDOUT", message: "no answer within 150 ms" });
  });

  it("refuses what is not an HTTP/1.x answer, and a contradictory length", async () => {
    const bad = await rawServer((_r, socket) => void socket.write("SSH-2.0-OpenSSH\r\n\r\n"));
    await expect(client(bad.port).request("GET", "/", {})).rejects.toMatchObject({ code: "ERR_NOT_HTTP", message: 'the answer is not HTTP/1.x: "SSH-2.0-OpenSSH"' });
    const twoLengths = await rawServer((_r, socket) => void socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nabc"));
    await expect(client(twoLengths.port).request("GET", "/", {})).rejects.toMatchObject({ code: "ERR_BAD_LENGTH" });
  });

  it("refuses an answer over the body limit instead of buffering it", async () => {
    const server = await rawServer((_r, socket) => void socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n${"x".repeat(5000)}`));
    await expect(client(server.port, { maxBodyBytes: 1000 }).request("GET", "/", {})).rejects.toMatchObject({ code: "ERR_BODY_TOO_LARGE" });
  });

  it("fails at once when nothing listens, with the system's reason", async () => {
    const server = net.createServer();
    const port = await listen(server);
    await closers.pop()!();
    const err = await client(port).request("GET", "/", {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeepAliveHttpError);
    expect((err as KeepAliveHttpError).message).toMatch(/ECONNREFUSED/);
  });

  it("closes idle connections after the server's Keep-Alive timeout less a second, or idleMs", async () => {
    const server = await rawServer((_r, socket) => void socket.write("HTTP/1.1 200 OK\r\nkeep-alive: timeout=3\r\ncontent-length: 0\r\n\r\n"));
    const c = client(server.port, { idleMs: 100 });
    await c.request("GET", "/", {});
    expect(c.idleMs).toBe(100);
    await new Promise((r) => setTimeout(r, 300));
    await c.request("GET", "/", {});
    expect(server.connections()).toBe(2);
    const learning = client(server.port);
    await learning.request("GET", "/", {});
    expect(learning.idleMs).toBe(2_000);
  });

  it("renews a connection older than maxSocketAgeMs once its answer is complete", async () => {
    const server = await rawServer((_r, socket) => void socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"));
    const c = client(server.port, { maxSocketAgeMs: 150 });
    await c.request("GET", "/", {});
    await c.request("GET", "/", {});
    expect(server.connections()).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
    expect((await c.request("GET", "/", {})).body.toString()).toBe("ok");
    await c.request("GET", "/", {});
    expect(server.connections()).toBe(2);
  });

  it("lets the process exit while its sockets are idle, as node's Agent does", async () => {
    const server = http.createServer((_req, res) => res.end("ok"));
    // The server would keep the connection for a minute: only the client can let the script end.
    server.keepAliveTimeout = 60_000;
    const port = await listen(server);
    const script = `
      require("ts-node/register/transpile-only");
      const { KeepAliveHttpClient } = require(${JSON.stringify(require.resolve("../../../services/api/src/predict/keep-alive-http"))});
      new KeepAliveHttpClient({ host: "127.0.0.1", port: ${port}, timeoutMs: 5000, idleMs: 60000 })
        .request("GET", "/", {}).then((a) => console.log(a.body.toString()));`;
    const started = Date.now();
    const { stdout } = await promisify(execFile)(process.execPath, ["-e", script], { timeout: 20_000 });
    expect(stdout.trim()).toBe("ok");
    // Exited on its own, long before either side's 60 s idle limit would have closed the socket.
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("fails open and later requests once closed", async () => {
    const server = await rawServer(() => undefined);
    const c = client(server.port);
    const open = c.request("GET", "/", {});
    c.close();
    await expect(open).rejects.toMatchObject({ code: "ERR_CLIENT_CLOSED" });
    await expect(c.request("GET", "/", {})).rejects.toMatchObject({ code: "ERR_CLIENT_CLOSED" });
  });
});
