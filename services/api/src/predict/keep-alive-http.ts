/**
 * A lean HTTP/1.1 client for the API's calls to the platform's own services over plain http:// inside
 * the cluster (serving, the monitor): a pool of kept-alive sockets to one origin, one request in
 * flight per socket, the answer framed by Content-Length, chunked transfer coding or the connection's
 * close (RFC 9112 section 6.3), 1xx interim answers skipped.
 *
 *   const client = new KeepAliveHttpClient({ host: "serving", port: 8080, timeoutMs: 10_000 });
 *   const { status, body } = await client.request("POST", "/v2/models/m/infer", { authorization: "Bearer k" }, json);
 *   client.close();
 *
 * Why not node:http's Agent (or undici): every prediction through the API costs an exchange with
 * serving, and node's ClientRequest, IncomingMessage and their streams cost most of it. Measured on the
 * 2-core build machine (Node 20, two concurrent 10-row OIP requests against a local node:http server,
 * client process CPU per exchange): node:http with a keep-alive Agent 80 us, undici 7's Pool 80 us,
 * this client's way (one socket write, one buffer scan) 31 us. In `npm run bench -w services/api` the
 * API's CPU per single-row prediction fell from 0.118-0.154 ms to 0.101 ms.
 *
 * What it does not do, because the platform's services do not need it: TLS (https:// URLs keep node's
 * https Agent, predict/upstream.ts), proxies, redirects, compression, request bodies other than one
 * string, pipelining, retries (a request that fails is failed to its caller, as node's Agent does).
 *
 * Failures reject with KeepAliveHttpError: the connection was refused or reset, closed before the
 * answer was complete, no byte came for `timeoutMs` while a request was open, or the answer is not
 * HTTP/1.x (its head is then named). The socket is destroyed and never reused after any of them.
 */
import net from "node:net";

export interface KeepAliveHttpOptions {
  host: string;
  port: number;
  /** Longest silence of the socket while a request is open (connect included), as node's `timeout`. */
  timeoutMs: number;
  /** Sockets kept open at most; further requests wait for a free one (default 64). */
  maxSockets?: number;
  /** Idle sockets are closed after this long, or one second before the server's `Keep-Alive: timeout` (default 4 s). */
  idleMs?: number;
  /**
   * A socket older than this is closed when its answer is complete instead of being reused (default:
   * never). Behind a Kubernetes Service each new connection picks a pod, so a bounded age spreads the
   * calls over replicas the HPA added; kept forever, the sockets stay on the pods that were there first.
   */
  maxSocketAgeMs?: number;
  /** Longest answer head and body accepted (default 64 KiB and 64 MiB). */
  maxHeadBytes?: number;
  maxBodyBytes?: number;
}

export interface KeepAliveHttpAnswer {
  status: number;
  body: Buffer;
}

export class KeepAliveHttpError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = "KeepAliveHttpError";
  }
}

interface Exchange {
  /** The whole request: head and body (a Buffer when a header value is not ASCII: heads are latin1, bodies UTF-8). */
  bytes: string | Buffer;
  /** A HEAD request's answer has no body whatever its head says. */
  head: boolean;
  resolve(answer: KeepAliveHttpAnswer): void;
  reject(err: KeepAliveHttpError): void;
}

const DEFAULT_IDLE_MS = 4_000;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const NOT_ASCII = /[^\x00-\x7f]/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export class KeepAliveHttpClient {
  private readonly idle: Connection[] = [];
  private readonly busy = new Set<Connection>();
  private readonly waiting: Exchange[] = [];
  private open = 0;
  private closed = false;
  private readonly maxSockets: number;
  /** How long a socket may stay idle: `idleMs`, or less when the server's Keep-Alive says so. */
  private idleLimitMs: number;

  /** The Host header: an IPv6 address in brackets. */
  private readonly authority: string;

  constructor(readonly opts: KeepAliveHttpOptions) {
    this.authority = `${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${opts.port}`;
    this.maxSockets = opts.maxSockets ?? 64;
    this.idleLimitMs = opts.idleMs ?? DEFAULT_IDLE_MS;
  }

  get idleMs(): number {
    return this.idleLimitMs;
  }

  /** A server's `Keep-Alive: timeout=<s>`: idle sockets are closed a second before it would close them. */
  serverKeepAlive(timeoutS: number): void {
    this.idleLimitMs = Math.min(this.opts.idleMs ?? Infinity, Math.max(1, timeoutS - 1) * 1000);
  }

  /** `headers` values are sent as they are; a CR or LF in one (header injection) is refused. */
  request(method: string, path: string, headers: Readonly<Record<string, string>>, body?: string): Promise<KeepAliveHttpAnswer> {
    let text = `${method} ${path} HTTP/1.1\r\nhost: ${this.authority}\r\n`;
    for (const name in headers) {
      const value = headers[name];
      if (!HEADER_NAME.test(name) || !HEADER_VALUE.test(value)) {
        return Promise.reject(new KeepAliveHttpError(`the request header ${JSON.stringify(name)} has a name or value that cannot be sent (control characters)`, "ERR_INVALID_HEADER"));
      }
      text += `${name}: ${value}\r\n`;
    }
    text += body === undefined ? "\r\n" : `content-length: ${Buffer.byteLength(body)}\r\n\r\n`;
    const bytes = NOT_ASCII.test(text) ? Buffer.concat([Buffer.from(text, "latin1"), Buffer.from(body ?? "", "utf8")]) : text + (body ?? "");
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new KeepAliveHttpError("the client is closed", "ERR_CLIENT_CLOSED"));
      this.dispatch({ bytes, head: method === "HEAD", resolve, reject });
    });
  }

  /** Destroys every socket; open requests fail, later ones are refused. */
  close(): void {
    this.closed = true;
    for (const exchange of this.waiting.splice(0)) exchange.reject(new KeepAliveHttpError("the client is closed", "ERR_CLIENT_CLOSED"));
    for (const connection of this.idle.splice(0)) connection.destroy();
    for (const connection of this.busy) connection.fail(new KeepAliveHttpError("the client is closed", "ERR_CLIENT_CLOSED"));
  }

  private dispatch(exchange: Exchange): void {
    const connection = this.idle.pop();
    if (connection) return this.start(connection, exchange);
    if (this.open >= this.maxSockets) return void this.waiting.push(exchange);
    this.open++;
    this.start(new Connection(this), exchange);
  }

  private start(connection: Connection, exchange: Exchange): void {
    this.busy.add(connection);
    connection.send(exchange);
  }

  /** A connection finished its exchange and may be reused. */
  released(connection: Connection): void {
    if (connection.ageMs() > (this.opts.maxSocketAgeMs ?? Infinity)) return connection.destroy();
    this.busy.delete(connection);
    const next = this.waiting.shift();
    if (next) return this.start(connection, next);
    if (this.closed) return connection.destroy();
    this.idle.push(connection);
    connection.waitIdle(this.idleMs);
  }

  /** A connection is gone (closed, failed, expired). */
  dropped(connection: Connection): void {
    this.busy.delete(connection);
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
    this.open--;
    const next = this.waiting.shift();
    if (next) this.dispatch(next);
  }
}

/** Where the answer's body ends. */
type Framing =
  | { kind: "length"; remaining: number }
  /** `remaining`: data bytes left of the current chunk; `crlf`: its closing CRLF is due. */
  | { kind: "chunked"; remaining: number; crlf: boolean }
  | { kind: "close" }
  | { kind: "none" };

class Connection {
  private readonly socket: net.Socket;
  private exchange: Exchange | undefined;
  /** Bytes received and not yet consumed. */
  private buffer: Buffer | undefined;
  private status = 0;
  private framing: Framing | undefined;
  private bodyParts: Buffer[] = [];
  private bodyBytes = 0;
  private keepAlive = true;
  private gone = false;
  private readonly openedAt = Date.now();

  constructor(private readonly pool: KeepAliveHttpClient) {
    const { host, port, timeoutMs } = pool.opts;
    // Its timeout is set by send(), which always follows: timeoutMs while a request is open, idleMs between.
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on("data", (chunk: Buffer) => this.receive(chunk));
    this.socket.on("end", () => this.ended());
    this.socket.on("timeout", () => (this.exchange ? this.fail(new KeepAliveHttpError(`no answer within ${timeoutMs} ms`, "ETIMEDOUT")) : this.destroy()));
    this.socket.on("error", (err: NodeJS.ErrnoException) => this.fail(new KeepAliveHttpError(err.code && !err.message.includes(err.code) ? `${err.code} ${err.message}` : err.message, err.code)));
    this.socket.on("close", () => this.fail(new KeepAliveHttpError("the connection closed before the answer was complete", "ECONNRESET")));
  }

  send(exchange: Exchange): void {
    this.exchange = exchange;
    this.status = 0;
    this.framing = undefined;
    this.bodyParts = [];
    this.bodyBytes = 0;
    this.socket.setTimeout(this.pool.opts.timeoutMs);
    this.socket.ref();
    this.socket.write(exchange.bytes);
  }

  ageMs(): number {
    return Date.now() - this.openedAt;
  }

  /** As node's Agent does, an idle socket does not keep the process alive (a script, a draining pod). */
  waitIdle(ms: number): void {
    this.socket.setTimeout(ms);
    this.socket.unref();
  }

  destroy(): void {
    if (this.gone) return;
    this.gone = true;
    this.socket.destroy();
    this.pool.dropped(this);
  }

  fail(err: KeepAliveHttpError): void {
    const exchange = this.exchange;
    this.exchange = undefined;
    this.destroy();
    exchange?.reject(err);
  }

  private receive(chunk: Buffer): void {
    if (!this.exchange) return this.destroy(); // bytes nobody asked for: the stream is out of step
    this.buffer = this.buffer ? Buffer.concat([this.buffer, chunk]) : chunk;
    try {
      while (this.exchange && this.buffer) if (!this.step()) break;
    } catch (err) {
      this.fail(err instanceof KeepAliveHttpError ? err : new KeepAliveHttpError(String(err)));
    }
  }

  /** Consumes what it can of the buffer; false when it needs more bytes. */
  private step(): boolean {
    if (!this.framing) return this.readHead();
    const framing = this.framing;
    if (framing.kind === "length") {
      const taken = this.take(framing.remaining);
      framing.remaining -= taken;
      if (framing.remaining === 0) this.complete();
      return taken > 0 && this.exchange !== undefined;
    }
    if (framing.kind === "chunked") return this.readChunk(framing);
    // Until close: everything is body.
    this.take(this.buffer!.length);
    return false;
  }

  private readHead(): boolean {
    const buffer = this.buffer!;
    const end = buffer.indexOf("\r\n\r\n");
    const limit = this.pool.opts.maxHeadBytes ?? 64 * 1024;
    if (end < 0) {
      if (buffer.length > limit) throw new KeepAliveHttpError(`the answer's head exceeds ${limit} bytes`, "ERR_HEAD_TOO_LARGE");
      return false;
    }
    const head = buffer.toString("latin1", 0, end);
    this.consume(end + 4);
    const lines = head.split("\r\n");
    const m = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0]);
    if (!m) throw new KeepAliveHttpError(`the answer is not HTTP/1.x: ${JSON.stringify(lines[0].slice(0, 80))}`, "ERR_NOT_HTTP");
    const status = Number(m[2]);
    // An interim answer (100 Continue, 103 Early Hints): the real one follows.
    if (status >= 100 && status < 200) return true;
    let length: number | undefined;
    let chunked = false;
    let connection = m[1] === "1" ? "keep-alive" : "close";
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      const colon = line.indexOf(":");
      if (colon <= 0) throw new KeepAliveHttpError(`the answer has a malformed header line ${JSON.stringify(line.slice(0, 80))}`, "ERR_BAD_HEADER");
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "content-length") {
        if (!/^\d{1,15}$/.test(value) || (length !== undefined && length !== Number(value))) throw new KeepAliveHttpError(`the answer has an invalid Content-Length ${JSON.stringify(value)}`, "ERR_BAD_LENGTH");
        length = Number(value);
      } else if (name === "transfer-encoding") chunked = value.toLowerCase().split(",").pop()!.trim() === "chunked";
      else if (name === "connection") connection = value.toLowerCase();
      else if (name === "keep-alive") {
        const timeout = /timeout=(\d+)/i.exec(value);
        if (timeout) this.pool.serverKeepAlive(Number(timeout[1]));
      }
    }
    this.status = status;
    this.keepAlive = !connection.split(",").some((t) => t.trim() === "close");
    if (this.exchange!.head || status === 204 || status === 304) this.framing = { kind: "none" };
    else if (chunked) this.framing = { kind: "chunked", remaining: 0, crlf: false };
    else if (length !== undefined) this.framing = { kind: "length", remaining: length };
    else {
      this.framing = { kind: "close" };
      this.keepAlive = false;
    }
    if (this.framing.kind === "none" || (this.framing.kind === "length" && this.framing.remaining === 0)) this.complete();
    return this.exchange !== undefined;
  }

  /** A chunk's size line, its data (as it arrives), its closing CRLF; or the last chunk and its trailers. */
  private readChunk(framing: Extract<Framing, { kind: "chunked" }>): boolean {
    const buffer = this.buffer!;
    if (framing.remaining > 0) {
      framing.remaining -= this.take(framing.remaining);
      framing.crlf = framing.remaining === 0;
      return true;
    }
    if (framing.crlf) {
      if (buffer.length < 2) return false;
      if (buffer[0] !== 0x0d || buffer[1] !== 0x0a) throw new KeepAliveHttpError("the answer has a chunk without its closing CRLF", "ERR_BAD_CHUNK");
      this.consume(2);
      framing.crlf = false;
      return true;
    }
    const lineEnd = buffer.indexOf("\r\n");
    if (lineEnd < 0) {
      if (buffer.length > 1024) throw new KeepAliveHttpError("the answer has a chunk size line over 1 KiB", "ERR_BAD_CHUNK");
      return false;
    }
    const sizeText = buffer.toString("latin1", 0, lineEnd).split(";", 1)[0].trim();
    if (!/^[0-9a-fA-F]{1,12}$/.test(sizeText)) throw new KeepAliveHttpError(`the answer has an invalid chunk size ${JSON.stringify(sizeText.slice(0, 20))}`, "ERR_BAD_CHUNK");
    const size = parseInt(sizeText, 16);
    if (size > 0) {
      this.consume(lineEnd + 2);
      framing.remaining = size;
      return true;
    }
    // The last chunk: the empty line that ends its trailers (not kept) is the size line's own CRLF when there are none.
    const blank = buffer.indexOf("\r\n\r\n", lineEnd);
    if (blank < 0) return false;
    this.consume(blank + 4);
    this.complete();
    return this.exchange !== undefined;
  }

  /** Up to `max` bytes of the buffer into the body. */
  private take(max: number): number {
    const buffer = this.buffer!;
    const n = Math.min(max, buffer.length);
    this.addBody(n === buffer.length ? buffer : buffer.subarray(0, n));
    this.consume(n);
    return n;
  }

  private addBody(part: Buffer): void {
    this.bodyBytes += part.length;
    const limit = this.pool.opts.maxBodyBytes ?? 64 * 1024 * 1024;
    if (this.bodyBytes > limit) throw new KeepAliveHttpError(`the answer's body exceeds ${limit} bytes`, "ERR_BODY_TOO_LARGE");
    this.bodyParts.push(part);
  }

  private consume(n: number): void {
    const buffer = this.buffer!;
    this.buffer = n >= buffer.length ? undefined : buffer.subarray(n);
  }

  private complete(): void {
    const exchange = this.exchange!;
    const parts = this.bodyParts;
    // Taken before the connection is released: a waiting request may start on it at once.
    const answer = { status: this.status, body: parts.length === 1 ? parts[0] : Buffer.concat(parts) };
    this.exchange = undefined;
    this.bodyParts = [];
    // Left-over bytes after a complete answer that no request asked for: the stream cannot be trusted.
    if (this.keepAlive && this.buffer === undefined) this.pool.released(this);
    else this.destroy();
    exchange.resolve(answer);
  }

  private ended(): void {
    if (this.exchange && this.framing?.kind === "close") return this.complete();
    this.fail(new KeepAliveHttpError("the connection closed before the answer was complete", "ECONNRESET"));
  }
}
