import { CodecError } from "./codec-error";

/**
 * JSON bodies whose tensor data goes straight into a Float32Array.
 *
 * `JSON.parse` turns a 1,000-row batch into 1,000 arrays of 30 boxed numbers that are then copied into
 * the input tensor. This scanner walks the body's bytes once instead: along the paths that can hold
 * tensor data (`inputs.*.data`, `dataframe_split.data`, `instances`, ...) it parses arrays of numbers
 * (nested or flat, rectangular) directly into a reused Float32Array, cuts them out of the text, and hands
 * the small rest to `JSON.parse`. Whatever it does not understand (a string in the data, a ragged array,
 * malformed JSON) it leaves to `JSON.parse` and the generic decoders, which produce the error messages.
 *
 * Numbers are converted exactly as `JSON.parse` would (then rounded to float32 like any Float32Array
 * store): up to 15 significant digits with a power of ten up to 22 the result of one IEEE multiplication
 * or division is the correctly rounded double (Clinger's fast path); anything longer goes to `Number()`.
 * Python's `NaN`, `Infinity` and `-Infinity` literals (json.dumps writes them) are accepted as values.
 */

/** A numeric array lifted out of the body. */
export interface LiftedArray {
  /** The values in row-major order. A view into a shared buffer: use it before the next scan. */
  values: Float32Array;
  /** Length at each nesting level: `[rows, columns]` for `[[...], ...]`, `[n]` for a flat list. */
  shape: number[];
  /** NaN, an infinity, or a number beyond float32's range was seen. */
  nonFinite: boolean;
}

export interface ScannedJson {
  doc: unknown;
  /** Lifted arrays by concrete path (`inputs.0.data`); the document has `null` in their place. */
  lifted: Map<string, LiftedArray>;
}

/** The paths whose arrays are lifted; `*` stands for any array index. */
export class LiftTargets {
  readonly targets: Set<string>;
  /** Every target and every path leading to one. */
  readonly relevant: Set<string>;

  constructor(patterns: string[]) {
    this.targets = new Set(patterns);
    this.relevant = new Set();
    for (const p of patterns) {
      const parts = p.split(".");
      for (let i = 1; i <= parts.length; i++) this.relevant.add(parts.slice(0, i).join("."));
    }
  }
}

const EMPTY = new Map<string, LiftedArray>();
/** Bodies from this size on are scanned; smaller ones go to JSON.parse directly. */
export const LIFT_MIN_BYTES = 4096;
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
/** Doubles from here on round to Infinity as float32. */
const F32_OVERFLOW = 3.4028235677973366e38;

const QUOTE = 34, COMMA = 44, MINUS = 45, DOT = 46, ZERO = 48, ONE = 49, NINE = 57, COLON = 58;
const LBRACKET = 91, BACKSLASH = 92, RBRACKET = 93, LBRACE = 123, RBRACE = 125;
const PLUS = 43, UPPER_E = 69, LOWER_E = 101, UPPER_I = 73, UPPER_N = 78;

let scratch = new Float32Array(1 << 16);

class Scanner {
  pos = 0;
  count = 0;
  readonly spans: number[] = [];
  readonly found: { key: string; offset: number; length: number; shape: number[]; nonFinite: boolean }[] = [];

  constructor(
    private readonly b: Buffer,
    private readonly t: LiftTargets,
  ) {}

  document(): boolean {
    this.ws();
    if (!this.value("", "")) return false;
    this.ws();
    return this.pos === this.b.length;
  }

  private ws(): void {
    const b = this.b;
    let c = b[this.pos];
    while (c === 32 || c === 10 || c === 13 || c === 9) c = b[++this.pos];
  }

  /** `pattern` is the path with array indexes as `*`, `key` the concrete path; both "" at the root. */
  private value(pattern: string, key: string): boolean {
    const c = this.b[this.pos];
    if (c === LBRACKET && this.t.targets.has(pattern)) {
      const start = this.pos;
      const mark = this.count;
      if (this.lift(key)) return true;
      this.pos = start;
      this.count = mark;
    }
    if (c === LBRACE) return this.object(pattern, key);
    if (c === LBRACKET) return this.array(pattern, key);
    return this.skip();
  }

  private object(pattern: string, key: string): boolean {
    const b = this.b;
    this.pos++;
    this.ws();
    if (b[this.pos] === RBRACE) {
      this.pos++;
      return true;
    }
    for (;;) {
      if (b[this.pos] !== QUOTE) return false;
      const name = this.key();
      if (name === undefined) return false;
      this.ws();
      if (b[this.pos] !== COLON) return false;
      this.pos++;
      this.ws();
      const childPattern = pattern === "" ? name : `${pattern}.${name}`;
      const ok = this.t.relevant.has(childPattern) ? this.value(childPattern, key === "" ? name : `${key}.${name}`) : this.skip();
      if (!ok) return false;
      this.ws();
      const c = b[this.pos++];
      if (c === RBRACE) return true;
      if (c !== COMMA) return false;
      this.ws();
    }
  }

  private array(pattern: string, key: string): boolean {
    const b = this.b;
    const childPattern = pattern === "" ? "*" : `${pattern}.*`;
    const relevant = this.t.relevant.has(childPattern);
    this.pos++;
    this.ws();
    if (b[this.pos] === RBRACKET) {
      this.pos++;
      return true;
    }
    for (let i = 0; ; i++) {
      const ok = relevant ? this.value(childPattern, key === "" ? String(i) : `${key}.${i}`) : this.skip();
      if (!ok) return false;
      this.ws();
      const c = b[this.pos++];
      if (c === RBRACKET) return true;
      if (c !== COMMA) return false;
      this.ws();
    }
  }

  /** An object key: plain ASCII keys are read directly, anything with escapes by JSON.parse. */
  private key(): string | undefined {
    const b = this.b;
    const start = this.pos;
    let plain = true;
    let i = start + 1;
    for (;;) {
      const c = b[i];
      if (c === undefined) return undefined;
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        plain = false;
        i += 2;
        continue;
      }
      if (c >= 0x80) plain = false;
      i++;
    }
    this.pos = i + 1;
    if (plain) return b.toString("latin1", start + 1, i);
    try {
      return JSON.parse(b.toString("utf8", start, i + 1)) as string;
    } catch {
      return undefined;
    }
  }

  /** Skips any value; the text stays in the document, where JSON.parse validates it. */
  private skip(): boolean {
    const b = this.b;
    const n = b.length;
    let c = b[this.pos];
    if (c === QUOTE) return this.skipString();
    if (c === LBRACE || c === LBRACKET) {
      let depth = 0;
      while (this.pos < n) {
        c = b[this.pos];
        if (c === QUOTE) {
          if (!this.skipString()) return false;
          continue;
        }
        if (c === LBRACE || c === LBRACKET) depth++;
        else if (c === RBRACE || c === RBRACKET) {
          depth--;
          if (depth === 0) {
            this.pos++;
            return true;
          }
        }
        this.pos++;
      }
      return false;
    }
    const start = this.pos;
    while (this.pos < n) {
      c = b[this.pos];
      if (c === COMMA || c === RBRACE || c === RBRACKET || c === 32 || c === 10 || c === 13 || c === 9) break;
      this.pos++;
    }
    return this.pos > start;
  }

  private skipString(): boolean {
    const b = this.b;
    const n = b.length;
    let i = this.pos + 1;
    while (i < n) {
      const c = b[i];
      if (c === QUOTE) {
        this.pos = i + 1;
        return true;
      }
      i += c === BACKSLASH ? 2 : 1;
    }
    return false;
  }

  private lift(key: string): boolean {
    const start = this.pos;
    const offset = this.count;
    const end = liftNumbers(this.b, start, offset, lift);
    if (end < 0) return false;
    this.pos = end;
    this.count = lift.count;
    const shape: number[] = [];
    for (let d = 0; d < lift.dims.length && lift.dims[d] >= 0; d++) shape.push(lift.dims[d]);
    this.found.push({ key, offset, length: lift.count - offset, shape, nonFinite: lift.nonFinite });
    this.spans.push(start, end);
    return true;
  }
}

/** The state of one lift, reused: `count` values written to `scratch` in total, the shape, NaN seen. */
const lift = { count: 0, dims: new Int32Array(8), kinds: new Uint8Array(8), lengths: new Int32Array(8), nonFinite: false };

/**
 * Parses the array at `pos` (nested arrays of numbers, rectangular) into `scratch` from `count` on.
 * Returns the position after it, or -1 when it is anything else. One flat loop with local state: this is
 * where a large batch spends its parsing time.
 */
function liftNumbers(b: Buffer, pos: number, count: number, state: typeof lift): number {
  const { dims, kinds, lengths } = state;
  dims.fill(-1);
  kinds.fill(0);
  state.nonFinite = false;
  let out = scratch;
  let depth = 0;
  lengths[0] = 0;
  let expectValue = true;
  pos++;
  for (;;) {
    let c = b[pos];
    while (c === 32 || c === 10 || c === 13 || c === 9) c = b[++pos];
    if (expectValue) {
      if (c === LBRACKET) {
        if (kinds[depth] === 1 || depth === 7) return -1;
        kinds[depth] = 2;
        lengths[++depth] = 0;
        pos++;
        continue;
      }
      if (c !== RBRACKET || lengths[depth] !== 0) {
        if (kinds[depth] === 2) return -1;
        kinds[depth] = 1;
        // a number, inline
        const start = pos;
        let negative = false;
        if (c === MINUS) {
          negative = true;
          c = b[++pos];
        }
        let v: number;
        if (c === UPPER_N || c === UPPER_I) {
          const word = c === UPPER_N ? "NaN" : "Infinity";
          if (b.toString("latin1", pos, pos + word.length) !== word || (negative && c === UPPER_N)) return -1;
          pos += word.length;
          v = c === UPPER_N ? NaN : negative ? -Infinity : Infinity;
          state.nonFinite = true;
        } else {
          let mantissa = 0;
          let digits = 0;
          let exponent = 0;
          if (c === ZERO) c = b[++pos];
          else if (c >= ONE && c <= NINE) {
            do {
              mantissa = mantissa * 10 + (c - ZERO);
              digits++;
              c = b[++pos];
            } while (c >= ZERO && c <= NINE);
          } else return -1;
          if (c === DOT) {
            c = b[++pos];
            if (!(c >= ZERO && c <= NINE)) return -1;
            do {
              mantissa = mantissa * 10 + (c - ZERO);
              digits++;
              exponent--;
              c = b[++pos];
            } while (c >= ZERO && c <= NINE);
          }
          if (c === LOWER_E || c === UPPER_E) {
            c = b[++pos];
            let negativeExp = false;
            if (c === PLUS || c === MINUS) {
              negativeExp = c === MINUS;
              c = b[++pos];
            }
            if (!(c >= ZERO && c <= NINE)) return -1;
            let e = 0;
            do {
              if (e < 100_000) e = e * 10 + (c - ZERO);
              c = b[++pos];
            } while (c >= ZERO && c <= NINE);
            exponent += negativeExp ? -e : e;
          }
          if (digits <= 15 && exponent >= -22 && exponent <= 22) {
            v = exponent < 0 ? mantissa / POW10[-exponent] : mantissa * POW10[exponent];
            if (negative) v = -v;
          } else {
            v = Number(b.toString("latin1", start, pos));
          }
          if (v >= F32_OVERFLOW || v <= -F32_OVERFLOW) state.nonFinite = true;
        }
        if (count === out.length) {
          const bigger = new Float32Array(out.length * 2);
          bigger.set(out);
          out = scratch = bigger;
        }
        out[count++] = v;
        lengths[depth]++;
        expectValue = false;
        continue;
      }
    } else if (c === COMMA) {
      pos++;
      expectValue = true;
      continue;
    } else if (c !== RBRACKET) {
      return -1;
    }
    // `]`: close this level; every array of a level has the same length.
    pos++;
    if (dims[depth] === -1) dims[depth] = lengths[depth];
    else if (dims[depth] !== lengths[depth]) return -1;
    if (depth === 0) {
      state.count = count;
      return pos;
    }
    lengths[--depth]++;
    expectValue = false;
  }
}

/**
 * Parses a JSON body, lifting the numeric arrays found at `targets`. Malformed JSON is a CodecError
 * INVALID_JSON naming what JSON.parse found wrong.
 */
export function scanJson(body: Buffer, targets: LiftTargets): ScannedJson {
  if (body.length === 0) throw new CodecError("INVALID_JSON", "request body is empty; expected a JSON document");
  // Below a few KB JSON.parse is faster than anything written in JS.
  if (body.length < LIFT_MIN_BYTES) return { doc: parseJsonText(body.toString("utf8")), lifted: EMPTY };
  const scanner = new Scanner(body, targets);
  if (!scanner.document()) return { doc: parseJsonText(body.toString("utf8")), lifted: EMPTY };
  const { spans, found } = scanner;
  if (found.length === 0) return { doc: parseJsonText(body.toString("utf8")), lifted: EMPTY };
  let text = "";
  let last = 0;
  for (let i = 0; i < spans.length; i += 2) {
    text += `${body.toString("utf8", last, spans[i])}null`;
    last = spans[i + 1];
  }
  text += body.toString("utf8", last);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // Broken outside the tensor data: JSON.parse on the whole body names the problem.
    return { doc: parseJsonText(body.toString("utf8")), lifted: EMPTY };
  }
  const lifted = new Map<string, LiftedArray>();
  for (const f of found) lifted.set(f.key, { values: scratch.subarray(f.offset, f.offset + f.length), shape: f.shape, nonFinite: f.nonFinite });
  return { doc, lifted };
}

/** JSON.parse, also taking Python's NaN / Infinity literals (as null: a missing value). */
export function parseJsonText(text: string): unknown {
  if (text.length === 0) throw new CodecError("INVALID_JSON", "request body is empty; expected a JSON document");
  try {
    return JSON.parse(text);
  } catch (err) {
    const sanitized = replaceNonFiniteLiterals(text);
    if (sanitized !== undefined) {
      try {
        return JSON.parse(sanitized);
      } catch {
        // report the original error below
      }
    }
    throw new CodecError("INVALID_JSON", `request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** `NaN`, `Infinity`, `-Infinity` outside strings -> `null`; undefined when there are none. */
function replaceNonFiniteLiterals(text: string): string | undefined {
  let out = "";
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === UPPER_N || c === UPPER_I || c === MINUS) {
      const m = /^-?Infinity|^NaN/.exec(text.slice(i, i + 9));
      if (m) {
        out += `${text.slice(last, i)}null`;
        i += m[0].length - 1;
        last = i + 1;
      }
    }
  }
  return last === 0 ? undefined : out + text.slice(last);
}
