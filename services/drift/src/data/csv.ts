/**
 * Streams a CSV file (csv-parse) row by row in constant memory, with line numbers for error messages and
 * a progress line on stderr when it is a terminal. Constant memory needs bounded records: csv-parse
 * holds a whole record before handing it over, so a file with one endless line (or an unclosed quote)
 * would otherwise be read into memory entirely. Records longer than `maxRecordBytes` stop the read.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { Transform, Writable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parse } from "csv-parse";

export class CsvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CsvError";
  }
}

export interface CsvHandlers {
  /** The header row; throw to refuse the file. */
  header(names: string[]): void;
  /** One data row; `line` is the 1-based line number where it ends. */
  row(cells: string[], line: number): void;
}

export interface ProgressSink {
  isTTY?: boolean;
  write(text: string): unknown;
}

/** Longest record read by default: 1 MiB, far above any real row, and the most one record may hold in memory. */
export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;

export interface CsvLimits {
  /** Longest record in bytes (its line break not counted); default DEFAULT_MAX_RECORD_BYTES. */
  maxRecordBytes?: number;
}

export interface CsvSummary {
  rows: number;
  bytes: number;
}

/** Strings that mean "no value" in a numeric column. */
const MISSING = new Set(["", "NA", "N/A", "NaN", "nan", "NAN", "null", "NULL", "None", "none"]);

/** A numeric cell: NaN for missing, undefined when the text is not a finite number. */
export function parseNumericCell(text: string): number | undefined {
  const t = text.trim();
  if (MISSING.has(t)) return NaN;
  const x = Number(t);
  return Number.isFinite(x) ? x : undefined;
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/**
 * Passes the file's bytes on unchanged and counts the bytes of each record as csv-parse will split them
 * (its defaults: `"` quotes, `""` inside quotes is a quote, a line break outside quotes ends a record, CR,
 * LF or CRLF). A record longer than `maxBytes` is an error naming the line it starts on, raised before the
 * parser sees more of it: nothing past the limit is buffered, and the rest of the file is never read.
 * Toggling on every quote byte follows `""` too (it toggles twice).
 */
export class RecordSizeLimit extends Transform {
  private inQuotes = false;
  private recordBytes = 0;
  /** The line being read (1-based) and the line the current record started on. */
  private line = 1;
  private recordLine = 1;
  private afterCR = false;

  constructor(
    private readonly maxBytes: number,
    private readonly label: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const max = this.maxBytes;
    let { inQuotes, recordBytes, line, recordLine, afterCR } = this;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === LF || b === CR) {
        // CRLF is one line break; a lone CR (old Mac files) is one too.
        if (!(b === LF && afterCR)) line++;
        afterCR = b === CR;
        if (!inQuotes) {
          recordBytes = 0;
          recordLine = line;
          continue;
        }
      } else {
        afterCR = false;
        if (b === QUOTE) inQuotes = !inQuotes;
      }
      if (++recordBytes > max) {
        const where = line === recordLine ? `line ${recordLine}` : `the record starting on line ${recordLine} (at line ${line})`;
        return done(new CsvError(`${this.label} ${where}: a record longer than ${max.toLocaleString("en-US")} bytes, the most --max-record-bytes allows (default ${DEFAULT_MAX_RECORD_BYTES.toLocaleString("en-US")}); reading stopped there${inQuotes ? " (an unclosed quote makes the rest of a file one record)" : ""}`));
      }
    }
    this.inQuotes = inQuotes;
    this.recordBytes = recordBytes;
    this.line = line;
    this.recordLine = recordLine;
    this.afterCR = afterCR;
    done(null, chunk);
  }
}

export async function readCsv(path: string, handlers: CsvHandlers, progress?: ProgressSink, limits: CsvLimits = {}): Promise<CsvSummary> {
  let size = 0;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    throw new CsvError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
  }
  const input = createReadStream(path);
  const label = basename(path);
  const recordLimit = new RecordSizeLimit(limits.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES, label);
  let rows = 0;
  let headerSeen = false;
  let failure: Error | undefined;
  const parser = parse({
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true,
    on_record: (record: string[], context) => {
      if (failure) return null;
      try {
        if (!headerSeen) {
          headerSeen = true;
          handlers.header(record.map((h) => h.trim()));
        } else {
          rows++;
          handlers.row(record, context.lines);
        }
      } catch (err) {
        failure = err as Error;
        parser.destroy(failure);
      }
      return null;
    },
  });
  const tty = progress?.isTTY === true;
  const timer = tty
    ? setInterval(() => {
        const pct = size > 0 ? Math.min(100, (100 * input.bytesRead) / size) : 0;
        progress!.write(`\r${label}: ${pct.toFixed(0)}% (${rows.toLocaleString("en-US")} rows)   `);
      }, 250)
    : undefined;
  // Rows are consumed in on_record; nothing flows past the parser.
  const sink = new Writable({ objectMode: true, write: (_chunk, _encoding, done) => done() });
  try {
    await pipeline(input, recordLimit, parser, sink);
  } catch (err) {
    if (err instanceof CsvError) throw err;
    if (!failure) throw new CsvError(`${label}: ${(err as Error).message}`);
  } finally {
    if (timer) {
      clearInterval(timer);
      progress!.write(`\r${label}: done (${rows.toLocaleString("en-US")} rows)        \n`);
    }
  }
  if (failure) throw failure;
  if (!headerSeen) throw new CsvError(`${label} is empty: expected a header row with the column names`);
  return { rows, bytes: size };
}

/** Checks a header: non-empty, unique names. */
export function checkHeader(names: string[], file: string): void {
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (n === "") throw new CsvError(`${file}: column ${i + 1} of the header has no name`);
    if (seen.has(n)) throw new CsvError(`${file}: column "${n}" appears twice in the header`);
    seen.add(n);
  });
}
