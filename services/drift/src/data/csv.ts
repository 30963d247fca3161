/**
 * Streams a CSV file (csv-parse) row by row in constant memory, with line numbers for error messages and
 * a progress line on stderr when it is a terminal.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { Writable } from "node:stream";
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

export async function readCsv(path: string, handlers: CsvHandlers, progress?: ProgressSink): Promise<CsvSummary> {
  let size = 0;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    throw new CsvError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
  }
  const input = createReadStream(path);
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
  const label = basename(path);
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
    await pipeline(input, parser, sink);
  } catch (err) {
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
