import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { HttpError, predictionEventSchema, type Logger } from "@mlops/common";
import { z } from "zod";

const CLIENT_NAME_MAX = predictionEventSchema.shape.client.unwrap().maxLength ?? 128;

const keysFileSchema = z.object({
  keys: z
    .array(
      z.object({
        // The name is the events' `client`: the event contract's limit, so the sinks never refuse it.
        name: z
          .string()
          .min(1, "each key needs a name (it appears in logs and events, never the key)")
          .max(CLIENT_NAME_MAX, `a key's name has at most ${CLIENT_NAME_MAX} characters (it is the events' client field)`),
        key: z.string().min(16, "keys must be at least 16 characters"),
        ratePerMinute: z.number().int().positive().optional(),
      }),
    )
    .min(1, "list at least one key"),
});

interface Client {
  name: string;
  ratePerMinute: number;
  /** Token bucket: up to a minute's worth of requests, refilled continuously. */
  tokens: number;
  updatedAt: number;
}

/**
 * Bearer-token authentication from API_KEYS_FILE, a JSON file (typically a mounted Kubernetes Secret):
 *
 *   {"keys": [{"name": "team-a", "key": "<at least 16 characters>", "ratePerMinute": 600}]}
 *
 * Each key has a token bucket of `ratePerMinute` (default RATE_LIMIT_PER_MINUTE) inference requests per
 * minute; past it, 429 with Retry-After. Keys are held as sha256 digests. The file is read again when it
 * changes (a rotated Secret), keeping each remaining key's bucket; a broken new file keeps the old keys.
 */
export class ApiKeys {
  private clients = new Map<string, Client>();
  private mtimeMs = 0;

  constructor(
    private readonly file: string,
    private readonly defaultRatePerMinute: number,
    private readonly logger?: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.load();
  }

  /** The key's name, or throws 401 (missing/unknown key) / 429 (over its rate, with Retry-After). */
  authorize(header: string | undefined): string {
    const token = header !== undefined && header.length > 7 && /^bearer /i.test(header) ? header.slice(7).trim() : undefined;
    if (!token) throw new HttpError(401, "UNAUTHENTICATED", "missing API key: send Authorization: Bearer <api key>", { "www-authenticate": 'Bearer realm="inference"' });
    const client = this.clients.get(digest(token));
    if (!client) throw new HttpError(401, "UNAUTHENTICATED", "unknown API key", { "www-authenticate": 'Bearer realm="inference", error="invalid_token"' });
    const now = this.now();
    const perMs = client.ratePerMinute / 60_000;
    client.tokens = Math.min(client.ratePerMinute, client.tokens + (now - client.updatedAt) * perMs);
    client.updatedAt = now;
    if (client.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - client.tokens) / perMs / 1000));
      throw new HttpError(429, "RATE_LIMITED", `API key "${client.name}" is over its limit of ${client.ratePerMinute} requests per minute; retry in ${retryAfter} s`, { "retry-after": String(retryAfter) });
    }
    client.tokens -= 1;
    return client.name;
  }

  /** Re-reads the file when its modification time changed; never throws. */
  reloadIfChanged(): void {
    try {
      if (statSync(this.file).mtimeMs === this.mtimeMs) return;
      this.load();
      this.logger?.info({ file: this.file, keys: this.clients.size }, "API keys reloaded");
    } catch (err) {
      this.logger?.error({ file: this.file, err: (err as Error).message }, "API_KEYS_FILE changed but cannot be used; the previous keys stay valid");
    }
  }

  private load(): void {
    let parsed: z.infer<typeof keysFileSchema>;
    try {
      this.mtimeMs = statSync(this.file).mtimeMs;
      parsed = keysFileSchema.parse(JSON.parse(readFileSync(this.file, "utf8")));
    } catch (err) {
      const detail = err instanceof z.ZodError ? err.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ") : (err as Error).message;
      throw new Error(`API_KEYS_FILE ${this.file} is not valid: ${detail}`);
    }
    const next = new Map<string, Client>();
    for (const k of parsed.keys) {
      const id = digest(k.key);
      const rate = k.ratePerMinute ?? this.defaultRatePerMinute;
      const previous = this.clients.get(id);
      next.set(id, previous && previous.ratePerMinute === rate ? { ...previous, name: k.name } : { name: k.name, ratePerMinute: rate, tokens: rate, updatedAt: this.now() });
    }
    this.clients = next;
  }
}

function digest(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}
