/**
 * Bounded memory for request bodies: at most MAX_CONCURRENT_BATCHES bodies (events or feedback) are read,
 * parsed and stored at once. A body holds its bytes, its text, the parsed objects and the COPY text (several
 * times its size) until its batch is committed, so an unbounded queue of them is what exhausted the pod
 * (three 30 MiB batches took 961 MB). Beyond the bound a request is answered 503 BUSY at once, before its
 * body is read (Node discards the unread bytes); serving retries 5xx with backoff.
 */
import { HttpError } from "@mlops/common";

/** Seconds a BUSY caller is asked to wait (Retry-After). */
export const BUSY_RETRY_AFTER_S = 1;

export class BodyGate {
  private inFlight = 0;

  constructor(readonly max: number) {}

  get active(): number {
    return this.inFlight;
  }

  /** Takes a slot, or throws 503 BUSY when every slot is taken; the returned function gives it back (once). */
  enter(): () => void {
    if (this.inFlight >= this.max) {
      throw new HttpError(503, "BUSY", `the monitor is processing ${this.max} request bodies already (MAX_CONCURRENT_BATCHES); retry later`, {
        "retry-after": String(BUSY_RETRY_AFTER_S),
      });
    }
    this.inFlight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
    };
  }
}

/** 413 before reading a body whose declared length is over the limit (body-parser would read and discard it all first). */
export function refuseDeclaredOversize(contentLength: string | undefined, limit: number): void {
  if (contentLength === undefined || !/^\d+$/.test(contentLength)) return;
  const length = Number(contentLength);
  if (length > limit) throw new HttpError(413, "PAYLOAD_TOO_LARGE", `request body exceeds the limit of ${limit} bytes`);
}
