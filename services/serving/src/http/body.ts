import type { IncomingMessage } from "node:http";
import { HttpError } from "@mlops/common";

/**
 * Request bodies read into reused buffers. A 1,000-row batch is 120-250 KB; allocating that per request
 * (what Buffer.concat does) keeps the garbage collector busy at thousands of requests per second. The
 * body is only needed until its rows are copied into the model's batch, which happens in the same turn
 * as the read completes, so the buffer goes back to the pool right after.
 */
export class BodyPool {
  private readonly free: Buffer[] = [];
  private freeBytes = 0;

  constructor(
    /** Buffers kept for reuse, at most this many bytes in total. */
    private readonly maxPooledBytes = 64 * 1024 * 1024,
  ) {}

  take(size: number): Buffer {
    for (let i = this.free.length - 1; i >= 0; i--) {
      const b = this.free[i];
      if (b.length >= size && b.length <= Math.max(4096, size * 4)) {
        this.free.splice(i, 1);
        this.freeBytes -= b.length;
        return b;
      }
    }
    // Rounded up, so bodies of similar size share buffers; allocUnsafeSlow: own memory, offset 0.
    return Buffer.allocUnsafeSlow(Math.max(4096, 2 ** Math.ceil(Math.log2(size))));
  }

  give(buffer: Buffer): void {
    if (this.freeBytes + buffer.length > this.maxPooledBytes) return;
    this.free.push(buffer);
    this.freeBytes += buffer.length;
  }
}

export interface Body {
  bytes: Buffer;
  /** Returns the memory to the pool: call once the bytes are no longer read. */
  release(): void;
}

const NOTHING = () => undefined;
const EMPTY: Body = { bytes: Buffer.alloc(0), release: NOTHING };

/**
 * Reads the body, refused with 413 past `limit` (by Content-Length before reading, else as it arrives).
 * `alignAt`: the byte offset in the body that must sit at a multiple of 8 in memory, so the binary tensor
 * data that starts there can be viewed as Float32Array/Float64Array without a copy.
 */
export function readBody(req: IncomingMessage, pool: BodyPool, limit: number, alignAt: number, done: (err: HttpError | undefined, body?: Body) => void): void {
  const tooLarge = () => new HttpError(413, "PAYLOAD_TOO_LARGE", `request body exceeds the limit of ${limit} bytes (MAX_BODY_BYTES)`);
  const header = req.headers["content-length"];
  const declared = header === undefined ? -1 : Number(header);
  if (declared > limit) {
    req.resume();
    return done(tooLarge());
  }
  if (declared === 0) {
    req.resume();
    return done(undefined, EMPTY);
  }
  let failed = false;
  const fail = (err: HttpError) => {
    if (failed) return;
    failed = true;
    done(err);
  };
  req.on("error", () => fail(new HttpError(400, "BAD_REQUEST", "the request body was cut off")));

  if (declared > 0) {
    // The route checks alignAt (binaryHeaderLength); a bad one here must not become a NaN-sized buffer.
    const shift = Number.isSafeInteger(alignAt) && alignAt > 0 ? (8 - (alignAt % 8)) % 8 : 0;
    const buffer = pool.take(declared + shift);
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      if (size + chunk.length > declared) return fail(new HttpError(400, "BAD_REQUEST", `the body is longer than its Content-Length of ${declared} bytes`));
      chunk.copy(buffer, shift + size);
      size += chunk.length;
    });
    req.on("end", () => {
      if (failed) return pool.give(buffer);
      if (size !== declared) {
        pool.give(buffer);
        return fail(new HttpError(400, "BAD_REQUEST", `the body has ${size} bytes, not its Content-Length of ${declared}`));
      }
      done(undefined, { bytes: buffer.subarray(shift, shift + size), release: () => pool.give(buffer) });
    });
    return;
  }

  // Chunked transfer: no length up front.
  const chunks: Buffer[] = [];
  let size = 0;
  req.on("data", (chunk: Buffer) => {
    if (failed) return;
    size += chunk.length;
    if (size > limit) return fail(tooLarge());
    chunks.push(chunk);
  });
  req.on("end", () => {
    if (!failed) done(undefined, { bytes: Buffer.concat(chunks, size), release: NOTHING });
  });
}
