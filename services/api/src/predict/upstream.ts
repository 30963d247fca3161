/**
 * JSON calls from the API to the platform's services (serving, the monitor), kept alive per origin:
 * plain http:// (in the cluster, and locally) through the lean client of predict/keep-alive-http.ts,
 * https:// through node:https with a keep-alive Agent.
 *
 * Why not fetch: measured on the 2-core build machine (Node 20, 16 concurrent single-row OIP bodies
 * against a local node:http server), node:http with a keep-alive Agent did 9,200-13,500 calls/s where
 * the global fetch (undici bundled in Node) did 1,200-2,600; the lean client costs 0.4 of node:http's
 * CPU per exchange (its header has the numbers).
 *
 * A call answers `{status, body}` for every HTTP answer (the caller decides what a 4xx means) and throws
 * UpstreamUnavailable when there is no answer at all (refused, reset, timed out).
 */
import https from "node:https";
import { KeepAliveHttpClient, KeepAliveHttpError } from "./keep-alive-http";

export interface UpstreamAnswer {
  status: number;
  /** The parsed JSON body; the text when it is not JSON; undefined when empty. */
  body: unknown;
}

/** No HTTP answer: the service is down, unreachable or too slow. */
export class UpstreamUnavailable extends Error {
  constructor(
    readonly service: string,
    readonly url: string,
    readonly reason: string,
  ) {
    super(`${service} at ${url} did not answer: ${reason}`);
    this.name = "UpstreamUnavailable";
  }
}

export interface UpstreamOptions {
  /** Named in errors: "serving for fraud-detector", "the monitor". */
  service: string;
  timeoutMs: number;
  /** Connections kept per host; beyond it requests queue in the agent. */
  maxSockets?: number;
}

export interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Sent as it is (already serialized JSON). */
  body?: string;
}

/**
 * Connections to a service are renewed after this long, so that serving replicas the HPA adds get
 * their share of the API's calls within it (a new connection through the Service picks a pod). One
 * TCP connect per socket per 30 s costs nothing measurable.
 */
export const MAX_SOCKET_AGE_MS = 30_000;

/** One keep-alive pool towards one service. */
export class Upstream {
  /** Plain http:// origins (host:port) -> their lean client. */
  private readonly plain = new Map<string, KeepAliveHttpClient>();
  private readonly httpsAgent: https.Agent;

  constructor(private readonly opts: UpstreamOptions) {
    // A request is one small write; Nagle's algorithm would hold it for the peer's delayed ACK
    // (measured: 910 -> 2,900 sequential single-row calls/s to serving on the build machine). Set once
    // per connection, not per request (the lean client does too).
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 64, scheduling: "lifo", noDelay: true });
  }

  /** `url`: a string, or a URL parsed once by a caller that calls it often. */
  call(url: string | URL, { method = "GET", headers = {}, body }: CallOptions = {}): Promise<UpstreamAnswer> {
    const target = typeof url === "string" ? new URL(url) : url;
    const allHeaders: Record<string, string> = { accept: "application/json", ...headers };
    if (body !== undefined) allHeaders["content-type"] ??= "application/json";
    if (target.protocol === "http:") {
      return this.plainClient(target)
        .request(method, target.pathname + target.search, allHeaders, body)
        .then(
          (answer) => ({ status: answer.status, body: parseBody(answer.body) }),
          (err: unknown) => {
            throw err instanceof KeepAliveHttpError ? new UpstreamUnavailable(this.opts.service, `${target.origin}${target.pathname}`, err.message) : err;
          },
        );
    }
    if (target.protocol !== "https:") return Promise.reject(new UpstreamUnavailable(this.opts.service, target.href, `unsupported protocol ${target.protocol} (expected http: or https:)`));
    return new Promise((resolve, reject) => {
      const fail = (reason: string) => reject(new UpstreamUnavailable(this.opts.service, `${target.origin}${target.pathname}`, reason));
      if (body !== undefined) allHeaders["content-length"] = String(Buffer.byteLength(body));
      const req = https.request(target, { method, headers: allHeaders, agent: this.httpsAgent, timeout: this.opts.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (err) => fail(err.message));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: parseBody(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)) }));
      });
      // `timeout` fires on an idle socket: one that has not connected or sent anything for timeoutMs.
      req.on("timeout", () => req.destroy(new Error(`no answer within ${this.opts.timeoutMs} ms`)));
      req.on("error", (err: NodeJS.ErrnoException) => fail(err.code && !err.message.includes(err.code) ? `${err.code} ${err.message}` : err.message));
      req.end(body);
    });
  }

  /** Closes the kept-alive connections (at shutdown, and in tests). */
  close(): void {
    for (const client of this.plain.values()) client.close();
    this.plain.clear();
    this.httpsAgent.destroy();
  }

  private plainClient(target: URL): KeepAliveHttpClient {
    let client = this.plain.get(target.host);
    if (!client) {
      const host = target.hostname.startsWith("[") ? target.hostname.slice(1, -1) : target.hostname;
      client = new KeepAliveHttpClient({ host, port: Number(target.port || 80), timeoutMs: this.opts.timeoutMs, maxSockets: this.opts.maxSockets ?? 64, maxSocketAgeMs: MAX_SOCKET_AGE_MS });
      this.plain.set(target.host, client);
    }
    return client;
  }
}

function parseBody(buffer: Buffer): unknown {
  if (buffer.length === 0) return undefined;
  const text = buffer.toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The `error` text of a platform service's error body (`{"error": "...", "code"}`), else the raw text. */
export function upstreamMessage(body: unknown): string {
  if (body && typeof body === "object" && "error" in body) {
    const error = (body as { error: unknown }).error;
    if (typeof error === "string") return error;
    if (error && typeof error === "object" && "message" in error) return String((error as { message: unknown }).message);
  }
  return typeof body === "string" ? body.slice(0, 300) : JSON.stringify(body ?? null).slice(0, 300);
}

/** The `code` of a platform service's error body, when it has one. */
export function upstreamCode(body: unknown): string | undefined {
  const code = body && typeof body === "object" ? (body as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}
