/**
 * Password hashing with scrypt (memory-hard, so guessing on GPUs is expensive), stored self-describing
 * as `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>`: raising the parameters later only changes new hashes,
 * and a login with an older, weaker hash rehashes it (`needsRehash`).
 *
 * Verification is constant-time in the compared bytes, and a login for an unknown user verifies against
 * a dummy hash of the same parameters, so the answer's timing does not tell which usernames exist.
 * Neither a password nor a hash ever appears in an error message.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { z } from "zod";

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

/** 2^15 x 8 x 128 bytes = 32 MiB per hash, ~50-100 ms of one core: OWASP's scrypt recommendation. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };
const SALT_BYTES = 16;
const HASH_BYTES = 32;

export const PASSWORD_MIN_CHARS = 12;
export const PASSWORD_MAX_BYTES = 1024;

/** The policy of a new password (user creation, change, first admin). */
export const newPasswordSchema = z
  .string()
  .refine((p) => [...p].length >= PASSWORD_MIN_CHARS, `use at least ${PASSWORD_MIN_CHARS} characters`)
  .refine((p) => Buffer.byteLength(p, "utf8") <= PASSWORD_MAX_BYTES, `use at most ${PASSWORD_MAX_BYTES} bytes`)
  .meta({ format: "password", example: "correct-horse-battery-staple" });

/** What a login accepts: any stored password, bounded so a huge body cannot cost a hash of it. */
export const presentedPasswordSchema = z
  .string()
  .min(1, "required")
  .refine((p) => Buffer.byteLength(p, "utf8") <= PASSWORD_MAX_BYTES, `use at most ${PASSWORD_MAX_BYTES} bytes`)
  .meta({ format: "password" });

/**
 * OpenSSL refuses a derivation needing more than maxmem bytes: its B array (128·r·p) plus V
 * (128·r·(N+2)). Node's default (32 MiB) is just short of N=2^15, r=8, so it is computed from the parameters.
 */
export function scryptMaxmem({ N, r, p }: ScryptParams): number {
  return 128 * r * (N + p + 2);
}

function derive(password: string, salt: Buffer, params: ScryptParams, length: number): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: scryptMaxmem(params) };
  return new Promise((resolve, reject) => scrypt(password.normalize("NFC"), salt, length, options, (err, key) => (err ? reject(err) : resolve(key))));
}

interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  hash: Buffer;
}

function parseHash(stored: string): ParsedHash | undefined {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4], "base64");
  const hash = Buffer.from(parts[5], "base64");
  if (![N, r, p].every((n) => Number.isSafeInteger(n) && n > 0) || salt.length === 0 || hash.length === 0) return undefined;
  return { params: { N, r, p }, salt, hash };
}

export class PasswordHasher {
  private dummy?: Promise<string>;

  constructor(readonly params: ScryptParams = DEFAULT_SCRYPT) {}

  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const hash = await derive(password, salt, this.params, HASH_BYTES);
    const { N, r, p } = this.params;
    return `scrypt$${N}$${r}$${p}$${salt.toString("base64")}$${hash.toString("base64")}`;
  }

  /** Whether `password` matches `stored`; a malformed stored value matches nothing. */
  async verify(password: string, stored: string): Promise<boolean> {
    const parsed = parseHash(stored);
    if (!parsed) return false;
    const candidate = await derive(password, parsed.salt, parsed.params, parsed.hash.length);
    return timingSafeEqual(candidate, parsed.hash);
  }

  /** Spends what a verification of a real user costs, for a username that does not exist; always false. */
  async verifyNobody(password: string): Promise<false> {
    this.dummy ??= this.hash(randomBytes(18).toString("base64"));
    await this.verify(password, await this.dummy);
    return false;
  }

  /** A hash made with weaker parameters than today's (or unreadable) is replaced at the next login. */
  needsRehash(stored: string): boolean {
    const parsed = parseHash(stored);
    if (!parsed) return true;
    const { N, r, p } = parsed.params;
    return N < this.params.N || r < this.params.r || p < this.params.p || parsed.hash.length < HASH_BYTES;
  }
}
