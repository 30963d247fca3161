/** Bulk loading with COPY ... FROM STDIN in PostgreSQL's text format. */
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import type { PoolClient } from "pg";
import { from as copyFrom } from "pg-copy-streams";

export type CopyValue = string | number | null;

const SPECIAL = /[\\\n\r\t]/;
const SPECIAL_ALL = /[\\\n\r\t]/g;
const ESCAPES: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** One value of a text-format COPY row: `\N` for null, backslash escapes for the separators. */
export function copyField(value: CopyValue): string {
  if (value === null) return "\\N";
  if (typeof value === "number") return String(value);
  return SPECIAL.test(value) ? value.replace(SPECIAL_ALL, (c) => ESCAPES[c]) : value;
}

export function copyRow(values: CopyValue[]): string {
  let line = copyField(values[0]);
  for (let i = 1; i < values.length; i++) line += "\t" + copyField(values[i]);
  return line + "\n";
}

/** Streams rows (copyRow text, in chunks) into `table (columns)`; resolves when PostgreSQL has them all. */
export async function copyInto(client: PoolClient, table: string, columns: readonly string[], chunks: (string | Uint8Array)[]): Promise<void> {
  const stream = client.query(copyFrom(`COPY ${table} (${columns.join(", ")}) FROM STDIN`));
  await pipeline(Readable.from(chunks), stream);
}
