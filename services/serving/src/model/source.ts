import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { fetchModelFiles, MlflowClient, MlflowError, parseModelUri, sha256Hex, versionTag, type ModelRef } from "@mlops/common";
import { parseMlmodel } from "./mlmodel";

/** The version a URI points at now, and what the registry says it must contain. */
export interface VersionPointer {
  version: string;
  /** The registry's `sha256` tag of model.onnx, when the version carries one. */
  sha256?: string;
}

/**
 * Where the models of one variant come from. `file:///dir` is read in place (its version is the first 12
 * hex digits of the ONNX file's sha256, so replacing the file is a new version); `models:/name@alias` and
 * `models:/name/<version>` are resolved through the MLflow registry and downloaded through its artifact
 * proxy into `cacheDir`, next to the final place first, so a half-written version never looks complete.
 */
export class ModelSource {
  private readonly ref?: ModelRef;
  private readonly fileDir?: string;

  constructor(
    readonly uri: string,
    private readonly mlflow: MlflowClient | undefined,
    private readonly cacheDir: string,
  ) {
    if (uri.startsWith("file:")) this.fileDir = fileURLToPath(uri);
    else {
      this.ref = parseModelUri(uri);
      if (!mlflow) throw new Error(`${uri} needs MLFLOW_TRACKING_URI`);
    }
  }

  /** A fixed registry version can never change: nothing to poll. */
  get pinned(): boolean {
    return this.ref?.version !== undefined;
  }

  /** A registry alias URI (`models:/<name>@<alias>`): its registered model's tags may steer how it is served. */
  get isAlias(): boolean {
    return this.ref?.alias !== undefined;
  }

  /**
   * The registered model's tag `key` now (`GET registered-models/get`); undefined when it is not set or the
   * registered model does not exist yet (a new stack). Other registry failures throw.
   */
  async registeredModelTag(key: string): Promise<string | undefined> {
    if (!this.ref) return undefined;
    try {
      const model = await this.mlflow!.getRegisteredModel(this.ref.name);
      return model.tags?.find((t) => t.key === key)?.value;
    } catch (err) {
      if (err instanceof MlflowError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** One cheap look (a registry call, or hashing the file) at the version the URI points at now. */
  async current(): Promise<VersionPointer> {
    if (this.fileDir) return { version: await fileVersion(this.fileDir) };
    const mv = await this.mlflow!.resolve(this.ref!);
    return { version: String(mv.version), sha256: versionTag(mv, "sha256") };
  }

  /** The local directory of `version`: the file URI itself, or the registry version downloaded once. */
  async fetch(version: string): Promise<string> {
    if (this.fileDir) return this.fileDir;
    const name = this.ref!.name;
    const artifactUri = await this.mlflow!.getDownloadUri(name, version);
    return fetchModelFiles(this.mlflow!, artifactUri, this.cachePath(version), `${name} version ${version}`);
  }

  /** Drops a downloaded version (a bad copy, or a version no longer served). */
  async evict(version: string): Promise<void> {
    if (this.fileDir) return;
    await rm(this.cachePath(version), { recursive: true, force: true });
  }

  private cachePath(version: string): string {
    return path.join(this.cacheDir, encodeURIComponent(this.ref!.name), encodeURIComponent(version));
  }
}

/** A model directory's version: the first 12 hex digits of the sha256 of the ONNX file MLmodel names. */
export async function fileVersion(dir: string): Promise<string> {
  let onnxFile = "model.onnx";
  try {
    onnxFile = parseMlmodel(await readFile(path.join(dir, "MLmodel"), "utf8"), `${dir}/MLmodel`).onnxFile;
  } catch {
    // The loader reports what is wrong with MLmodel; the version is still the file's hash.
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(path.join(dir, onnxFile));
  } catch {
    throw new Error(`${dir} has no ${onnxFile}: nothing to serve`);
  }
  return sha256Hex(bytes).slice(0, 12);
}
