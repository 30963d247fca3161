/**
 * Input examples as MLflow saves them (orient split, records, the serving-input wrappers, tensors), read
 * from real files into the rows the deploy gate runs: named values placed by the column signature.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { FeatureColumn, MlmodelInfo } from "@mlops/common";
import { readInputExample } from "../../../services/api/src/models/input-example";

describe("readInputExample", () => {
  let dir: string;
  const columns: FeatureColumn[] = [
    { name: "a", type: "double", required: true },
    { name: "b", type: "boolean", required: true },
    { name: "c", type: "double", required: false },
  ];
  const info = (artifactPath?: string): MlmodelInfo => ({ onnxFile: "model.onnx", signature: { kind: "columns", columns }, ...(artifactPath ? { inputExample: { artifactPath } } : {}) });
  const read = async (doc: unknown, cols: FeatureColumn[] | undefined = columns) => {
    await writeFile(path.join(dir, "example.json"), JSON.stringify(doc));
    const { rows, n } = await readInputExample(dir, info("example.json"), cols, 3, "m version 1");
    return { rows: [...rows], n };
  };

  beforeAll(async () => (dir = await mkdtemp(path.join(os.tmpdir(), "api-example-"))));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("places named values by the signature, whatever the file's column order", async () => {
    const expected = { rows: [1, 1, 3, 4, 0, NaN], n: 2 };
    expect(await read({ columns: ["c", "a", "b"], data: [[3, 1, true], [null, 4, false]] })).toEqual(expected);
    expect(await read([{ b: true, a: 1, c: 3 }, { a: 4, b: false }])).toEqual(expected);
    expect(await read({ dataframe_split: { columns: ["a", "b", "c"], data: [[1, 1, 3], [4, 0, null]] } })).toEqual(expected);
    expect(await read({ dataframe_records: [{ a: 1, b: 1, c: 3 }, { a: 4, b: 0 }] })).toEqual(expected);
  });

  it("reads positional rows of exactly the model's width", async () => {
    expect(await read({ inputs: [[1, 2, 3]] }, undefined)).toEqual({ rows: [1, 2, 3], n: 1 });
    await expect(read([[1, 2]], undefined)).rejects.toThrow("row 0 has 2 values; the model takes 3");
  });

  it("names what is wrong: no example, a missing file, a missing required value, a text value", async () => {
    await expect(readInputExample(dir, info(), columns, 3, "m version 1")).rejects.toThrow("m version 1 has no input example");
    await expect(readInputExample(dir, info("gone.json"), columns, 3, "m version 1")).rejects.toThrow("names the input example gone.json, which is missing");
    await expect(read([{ b: true, c: 1 }])).rejects.toThrow("row 0 column a is missing; expected a number");
    await expect(read([{ a: "x", b: true }])).rejects.toThrow('row 0 column a is "x"');
  });
});
