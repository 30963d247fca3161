import { createHmac, timingSafeEqual } from "node:crypto";

/** Header carrying `sha256=<hex HMAC of timestamp + "." + body>`, as GitHub/Stripe-style receivers expect. */
export const SIGNATURE_HEADER = "x-mlops-signature-256";
export const TIMESTAMP_HEADER = "x-mlops-timestamp";

export function sign(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** Oldest (and furthest in the future) a signed timestamp may be: a captured delivery replays for this long at most. */
export const MAX_SIGNATURE_AGE_S = 300;

export interface VerifyOptions {
  /** Seconds a signature stays valid either side of now (default MAX_SIGNATURE_AGE_S). */
  maxAgeSeconds?: number;
  /** Now, in ms since the epoch (tests). */
  now?: number;
}

/**
 * True when `signature` signs `timestamp.body` with `secret` and the timestamp (Unix seconds) is within
 * `maxAgeSeconds` of now: an old delivery captured on the way cannot be replayed later.
 */
export function verifySignature(secret: string, timestamp: string, body: string, signature: string, opts: VerifyOptions = {}): boolean {
  if (!/^\d{1,12}$/.test(timestamp)) return false;
  const ageS = Math.abs((opts.now ?? Date.now()) / 1000 - Number(timestamp));
  if (ageS > (opts.maxAgeSeconds ?? MAX_SIGNATURE_AGE_S)) return false;
  const expected = Buffer.from(sign(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export interface WebhookOptions {
  url: string;
  secret?: string;
  /** Retries after the first attempt (product default 3), with exponential backoff from `backoffMs`. */
  retries?: number;
  backoffMs?: number;
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface DeliveryResult {
  delivered: boolean;
  attempts: number;
  status?: number;
  error?: string;
}

/** POSTs a JSON body, signed when a secret is set; retries 5xx, 429 and network errors. Never throws. */
export async function deliverWebhook(payload: unknown, opts: WebhookOptions): Promise<DeliveryResult> {
  const body = JSON.stringify(payload);
  const retries = opts.retries ?? 3;
  const backoff = opts.backoffMs ?? 5_000;
  const sleep = opts.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  let last: DeliveryResult = { delivered: false, attempts: 0 };
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) await sleep(backoff * 2 ** (attempt - 1));
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = { "content-type": "application/json", [TIMESTAMP_HEADER]: timestamp };
    if (opts.secret) headers[SIGNATURE_HEADER] = sign(opts.secret, timestamp, body);
    try {
      const res = await fetch(opts.url, { method: "POST", headers, body, signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
      await res.arrayBuffer();
      if (res.ok) return { delivered: true, attempts: attempt + 1, status: res.status };
      last = { delivered: false, attempts: attempt + 1, status: res.status, error: `HTTP ${res.status}` };
      if (res.status < 500 && res.status !== 429) return last;
    } catch (err) {
      last = { delivered: false, attempts: attempt + 1, error: (err as Error).message };
    }
  }
  return last;
}
