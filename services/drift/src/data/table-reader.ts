/**
 * Reads CSV files into what the drift code consumes: a profile (reference) or current data (columns of
 * numbers, counts of categories). Bad rows are skipped and reported by line number.
 */
import { basename } from "node:path";
import { DEFAULT_PROFILE_OPTIONS, ProfileBuilder, type Cell, type ColumnSpec, type ProfileOptions } from "../profile/builder";
import type { Profile } from "../profile/schema";
import type { CategoryCounts, CurrentData } from "../drift/evaluate";
import { BadRows } from "./bad-rows";
import { CsvError, checkHeader, parseNumericCell, readCsv, type ProgressSink } from "./csv";

export interface ColumnSelection {
  categorical?: string[];
  outputs?: string[];
  ignore?: string[];
}

export interface ReadOptions {
  maxBadRows?: number;
  /** Longest CSV record in bytes (default 1 MiB, DEFAULT_MAX_RECORD_BYTES): a longer one stops the read. */
  maxRecordBytes?: number;
  progress?: ProgressSink;
  /** Receives the bad-row report lines and warnings. */
  warn?: (line: string) => void;
}

function specsFor(header: string[], file: string, sel: ColumnSelection): ColumnSpec[] {
  for (const [flag, list] of [
    ["--categorical", sel.categorical],
    ["--outputs", sel.outputs],
    ["--ignore", sel.ignore],
  ] as const) {
    for (const name of list ?? []) {
      if (!header.includes(name)) throw new CsvError(`${file} has no column "${name}" (named by ${flag}); its columns: ${header.join(", ")}`);
    }
  }
  const ignore = new Set(sel.ignore ?? []);
  const categorical = new Set(sel.categorical ?? []);
  const outputs = new Set(sel.outputs ?? []);
  return header
    .filter((name) => !ignore.has(name))
    .map((name) => ({ name, kind: categorical.has(name) ? "categorical" : "numeric", role: outputs.has(name) ? "output" : "feature" }));
}

/**
 * Converts raw cells to builder cells, or returns the problem. A numeric column whose first value is text
 * stops the read with a hint to declare it categorical.
 */
class RowConverter {
  private readonly indices: number[];
  private readonly seenNumber: boolean[];

  constructor(
    private readonly header: string[],
    readonly specs: ColumnSpec[],
    private readonly file: string,
  ) {
    this.indices = specs.map((s) => header.indexOf(s.name));
    this.seenNumber = specs.map(() => false);
  }

  convert(cells: string[], line: number, out: Cell[]): string | undefined {
    if (cells.length !== this.header.length) return `expected ${this.header.length} fields, found ${cells.length}`;
    for (let i = 0; i < this.specs.length; i++) {
      const raw = cells[this.indices[i]];
      if (this.specs[i].kind === "categorical") {
        out[i] = raw === "" ? null : raw;
        continue;
      }
      const x = parseNumericCell(raw);
      if (x === undefined) {
        if (!this.seenNumber[i]) {
          throw new CsvError(
            `${this.file} line ${line}: column "${this.specs[i].name}" holds text (${JSON.stringify(raw.slice(0, 40))}); if it is categorical, pass --categorical ${this.specs[i].name}`,
          );
        }
        return `column "${this.specs[i].name}": ${JSON.stringify(raw.slice(0, 40))} is not a number`;
      }
      if (!Number.isNaN(x)) this.seenNumber[i] = true;
      out[i] = x;
    }
    return undefined;
  }
}

/** Streams a CSV into a reference profile. */
export async function profileCsv(path: string, sel: ColumnSelection, options: Partial<ProfileOptions> = {}, read: ReadOptions = {}): Promise<Profile> {
  const file = basename(path);
  let builder: ProfileBuilder | undefined;
  let converter: RowConverter | undefined;
  const bad = new BadRows(file, read.maxBadRows ?? 1000);
  const cells: Cell[] = [];
  await readCsv(
    path,
    {
      header: (names) => {
        checkHeader(names, file);
        const specs = specsFor(names, file, sel);
        if (specs.length === 0) throw new CsvError(`${file}: no columns left to profile`);
        builder = new ProfileBuilder(specs, { ...DEFAULT_PROFILE_OPTIONS, ...options });
        converter = new RowConverter(names, specs, file);
      },
      row: (raw, line) => {
        const problem = converter!.convert(raw, line, cells);
        if (problem) bad.add(line, problem);
        else builder!.addRow(cells);
      },
    },
    read.progress,
    { maxRecordBytes: read.maxRecordBytes },
  );
  builder!.badRows = bad.count;
  for (const line of bad.summary()) read.warn?.(line);
  if (builder!.rowCount === 0) throw new CsvError(`${file} has no usable data rows`);
  return builder!.finish(file);
}

/** Growable Float64 column. */
class NumberColumn {
  private data = new Float64Array(65536);
  length = 0;

  push(x: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = x;
  }

  /** The values in a buffer of their own (shared when asked, for worker threads). */
  finish(shared: boolean): Float64Array {
    const out = shared ? new Float64Array(new SharedArrayBuffer(this.length * 8)) : new Float64Array(this.length);
    out.set(this.data.subarray(0, this.length));
    return out;
  }
}

/**
 * Streams a CSV of current data into columns for the given reference profile: numeric columns as numbers
 * (NaN = missing), categorical ones as counts. Columns the profile does not know are ignored (with a
 * warning); columns it needs must be present.
 */
export async function readCurrentCsv(path: string, profile: Profile, read: ReadOptions & { shared?: boolean } = {}): Promise<CurrentData> {
  const file = basename(path);
  const specs: ColumnSpec[] = profile.columns.map((c) => ({ name: c.name, kind: c.kind, role: c.role }));
  let converter: RowConverter | undefined;
  const numbers = new Map<string, NumberColumn>();
  const categories = new Map<string, CategoryCounts>();
  const bad = new BadRows(file, read.maxBadRows ?? 1000);
  const cells: Cell[] = [];
  let rows = 0;
  await readCsv(
    path,
    {
      header: (names) => {
        checkHeader(names, file);
        const missing = specs.filter((s) => !names.includes(s.name)).map((s) => s.name);
        if (missing.length > 0) throw new CsvError(`${file} lacks column(s) ${missing.join(", ")} that the reference has`);
        const extra = names.filter((n) => !specs.some((s) => s.name === n));
        if (extra.length > 0) read.warn?.(`${file}: ignoring column(s) the reference does not have: ${extra.join(", ")}`);
        converter = new RowConverter(names, specs, file);
        for (const s of specs) {
          if (s.kind === "numeric") numbers.set(s.name, new NumberColumn());
          else categories.set(s.name, { counts: new Map(), missing: 0 });
        }
      },
      row: (raw, line) => {
        const problem = converter!.convert(raw, line, cells);
        if (problem) {
          bad.add(line, problem);
          return;
        }
        rows++;
        for (let i = 0; i < specs.length; i++) {
          const s = specs[i];
          if (s.kind === "numeric") numbers.get(s.name)!.push(cells[i] as number);
          else {
            const c = categories.get(s.name)!;
            const v = cells[i] as string | null;
            if (v === null) c.missing++;
            else c.counts.set(v, (c.counts.get(v) ?? 0) + 1);
          }
        }
      },
    },
    read.progress,
    { maxRecordBytes: read.maxRecordBytes },
  );
  for (const line of bad.summary()) read.warn?.(line);
  const numeric = new Map<string, Float64Array>();
  for (const [name, col] of numbers) numeric.set(name, col.finish(read.shared === true));
  return { rows, numeric, categorical: categories };
}
