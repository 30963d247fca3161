/**
 * A model version's input example (MLmodel `saved_input_example_info`), as rows for ONNX Runtime. MLflow
 * writes a dataframe as `{"columns": [...], "data": [[...]]}` (orient split) or `[{...}]` (records),
 * newer versions wrap them as `{"dataframe_split": ...}` / `{"dataframe_records": ...}`, and a tensor
 * example as `{"inputs": [[...]]}` or a bare list of rows. Named values are placed by the column
 * signature; positional rows must be exactly as wide as the model's input.
 */
import { ModelFormatError, type FeatureColumn, type MlmodelInfo } from "@mlops/common";
import { readJsonFile } from "./version-files";

export interface ExampleRows {
  rows: Float32Array;
  n: number;
}

export async function readInputExample(dir: string, info: MlmodelInfo, columns: readonly FeatureColumn[] | undefined, width: number, where: string): Promise<ExampleRows> {
  if (!info.inputExample) {
    throw new ModelFormatError(`${where} has no input example (MLmodel saved_input_example_info); log the model with input_example=... so the gate can run it`);
  }
  const file = info.inputExample.artifactPath;
  const doc = await readJsonFile(dir, file, where);
  if (doc === undefined) throw new ModelFormatError(`${where}: MLmodel names the input example ${file}, which is missing`);
  return toRows(unwrap(doc), columns, width, `${where} ${file}`);
}

function unwrap(doc: any): unknown {
  if (doc && typeof doc === "object" && !Array.isArray(doc)) {
    for (const key of ["dataframe_split", "dataframe_records", "inputs", "instances"]) if (key in doc) return doc[key];
  }
  return doc;
}

function toRows(doc: any, columns: readonly FeatureColumn[] | undefined, width: number, where: string): ExampleRows {
  if (doc && typeof doc === "object" && !Array.isArray(doc) && Array.isArray(doc.columns) && Array.isArray(doc.data)) {
    const records = (doc.data as unknown[][]).map((row) => Object.fromEntries((doc.columns as string[]).map((c, j) => [c, row?.[j]])));
    return fromRecords(records, columns, where);
  }
  if (!Array.isArray(doc) || doc.length === 0) throw new ModelFormatError(`${where} holds no rows (expected orient split, records or a list of rows)`);
  if (doc.every((r) => Array.isArray(r))) return fromPositional(doc as unknown[][], width, where);
  if (doc.every((r) => r && typeof r === "object")) return fromRecords(doc as Record<string, unknown>[], columns, where);
  throw new ModelFormatError(`${where} mixes rows of different kinds`);
}

function fromRecords(records: Record<string, unknown>[], columns: readonly FeatureColumn[] | undefined, where: string): ExampleRows {
  if (!columns) throw new ModelFormatError(`${where} names its values but the model has no column signature to place them by`);
  if (records.length === 0) throw new ModelFormatError(`${where} holds no rows`);
  const rows = new Float32Array(records.length * columns.length);
  records.forEach((record, r) =>
    columns.forEach((c, j) => {
      rows[r * columns.length + j] = toNumber(record[c.name], c.required, `${where} row ${r} column ${c.name}`);
    }),
  );
  return { rows, n: records.length };
}

function fromPositional(list: unknown[][], width: number, where: string): ExampleRows {
  const rows = new Float32Array(list.length * width);
  list.forEach((row, r) => {
    if (row.length !== width) throw new ModelFormatError(`${where} row ${r} has ${row.length} values; the model takes ${width}`);
    row.forEach((v, j) => (rows[r * width + j] = toNumber(v, true, `${where} row ${r} value ${j}`)));
  });
  return { rows, n: list.length };
}

function toNumber(v: unknown, required: boolean, where: string): number {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  if ((v === undefined || v === null) && !required) return NaN;
  throw new ModelFormatError(`${where} is ${v === undefined ? "missing" : JSON.stringify(v)}; expected a number`);
}
