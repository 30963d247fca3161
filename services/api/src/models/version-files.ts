/**
 * A registry version's files on local disk, as the API reads them: downloaded once through MLflow's
 * artifact proxy into `<cacheDir>/<name>/<version>` (the shared fetch of @mlops/common), its MLmodel
 * read, and its ONNX file's bytes.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fetchModelFiles, ModelFormatError, type MlflowClient, type MlmodelInfo } from "@mlops/common";

/** The reference profile the drift tooling writes next to a model version's files. */
export const REFERENCE_PROFILE_FILE = "reference_profile.json";

export const describeVersion = (name: string, version: string) => `${name} version ${version}`;

export async function versionDir(mlflow: Pick<MlflowClient, "getDownloadUri" | "downloadArtifacts">, cacheDir: string, name: string, version: string): Promise<string> {
  const artifactUri = await mlflow.getDownloadUri(name, version);
  const dir = path.join(cacheDir, encodeURIComponent(name), encodeURIComponent(version));
  return fetchModelFiles(mlflow, artifactUri, dir, describeVersion(name, version));
}

/** The ONNX file MLmodel names, as bytes (hashed and loaded from memory: what was checked is what runs). */
export async function readOnnxBytes(dir: string, info: MlmodelInfo, where: string): Promise<Buffer> {
  return readFile(path.join(dir, info.onnxFile)).catch(() => {
    throw new ModelFormatError(`${where}: ${info.onnxFile}, named by MLmodel, is missing`);
  });
}

/** A JSON file of the version's directory, parsed; undefined when the version has none. */
export async function readJsonFile(dir: string, file: string, where: string): Promise<unknown | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(dir, file), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelFormatError(`${where}: ${file} is not valid JSON: ${(err as Error).message}`);
  }
}
