/**
 * Registry model versions loaded in ONNX Runtime inside the API (explanations and other answers that
 * need the model itself, not serving's prediction):
 *
 *   const sessions = new ModelSessions({ mlflow, cacheDir: env.MODEL_CACHE_DIR, logger, maxLoaded: 4 });
 *   const v = await sessions.load("fraud-detector", "3");
 *   const p = await v.predictProba(rows, n);
 *
 * A version's files come through MLflow's artifact proxy into `<cacheDir>/<name>/<version>`; model.onnx
 * is checked against the version's `sha256` tag before ONNX Runtime sees it, so a file changed after
 * registration is never run. Loaded versions are kept per (name, version), concurrent loads of one
 * version share one promise, and beyond `maxLoaded` the least recently used is released (its ORT session
 * freed once the runs it started are done).
 */
import { ModelFormatError, readMlmodelFile, unservableColumns, verifySha256, versionTag, type Logger, type MlflowClient } from "@mlops/common";
import { OnnxClassifier } from "./onnx-classifier";
import { describeVersion, readJsonFile, readOnnxBytes, REFERENCE_PROFILE_FILE, versionDir } from "./version-files";

export interface LoadedVersion {
  readonly name: string;
  readonly version: string;
  /** Feature names in the model's input order (its column signature). */
  readonly featureNames: readonly string[];
  /** Runs n rows (row-major float32, featureNames.length wide) and returns the positive-class probability of each row. */
  predictProba(rows: Float32Array, n: number): Promise<Float32Array>;
  /** The version's reference_profile.json (as written by the drift tooling), parsed JSON; undefined when the version has none. */
  referenceProfile(): Promise<unknown | undefined>;
}

const DEFAULT_MAX_LOADED = 4;

export class ModelSessions {
  /** Insertion order is recency: a hit moves its entry to the end, eviction takes from the front. */
  private readonly loaded = new Map<string, Promise<Loaded>>();
  private readonly maxLoaded: number;

  constructor(private readonly opts: { mlflow: MlflowClient; cacheDir: string; logger: Logger; maxLoaded?: number }) {
    this.maxLoaded = Math.max(1, opts.maxLoaded ?? DEFAULT_MAX_LOADED);
  }

  load(name: string, version: string): Promise<LoadedVersion> {
    const key = JSON.stringify([name, version]);
    const hit = this.loaded.get(key);
    if (hit) {
      this.loaded.delete(key);
      this.loaded.set(key, hit);
      return hit;
    }
    const loading = this.open(name, version);
    this.loaded.set(key, loading);
    // A failed load is not cached: the next call tries again (MLflow may have been briefly unreachable).
    loading.catch(() => {
      if (this.loaded.get(key) === loading) this.loaded.delete(key);
    });
    this.evictBeyondLimit();
    return loading;
  }

  /** Releases every loaded version (on shutdown). */
  async close(): Promise<void> {
    const all = [...this.loaded.values()];
    this.loaded.clear();
    await Promise.all(all.map((p) => p.then((v) => v.retire(), () => undefined)));
  }

  private evictBeyondLimit(): void {
    while (this.loaded.size > this.maxLoaded) {
      const [oldestKey, oldest] = this.loaded.entries().next().value as [string, Promise<Loaded>];
      this.loaded.delete(oldestKey);
      oldest.then(
        (v) => v.retire().catch((err) => this.opts.logger.warn({ err, model: v.name, version: v.version }, "releasing an evicted model session failed")),
        () => undefined,
      );
    }
  }

  private async open(name: string, version: string): Promise<Loaded> {
    const { mlflow, cacheDir, logger } = this.opts;
    const where = describeVersion(name, version);
    const mv = await mlflow.getModelVersion(name, version);
    const dir = await versionDir(mlflow, cacheDir, name, version);
    const info = await readMlmodelFile(dir, where);
    if (info.signature.kind !== "columns") {
      throw new ModelFormatError(`${where} has no column signature (${info.signature.kind}); the API needs named features: log the model with a column-based signature`);
    }
    const columns = info.signature.columns;
    const bad = unservableColumns(columns);
    if (bad.length) throw new ModelFormatError(`${where}: columns ${bad.map((c) => `${c.name} (${c.type})`).join(", ")} are not numeric`);
    const bytes = await readOnnxBytes(dir, info, where);
    const sha256 = versionTag(mv, "sha256");
    if (sha256 === undefined) throw new ModelFormatError(`${where} has no sha256 tag; the API runs only files the registry vouches for`);
    verifySha256(bytes, sha256, where, info.onnxFile);
    const classifier = await OnnxClassifier.create(bytes, columns, where);
    logger.info({ model: name, version }, "model version loaded in ONNX Runtime");
    return new Loaded(name, version, columns.map((c) => c.name), classifier, () => readJsonFile(dir, REFERENCE_PROFILE_FILE, where));
  }
}

/** A loaded version; retiring it frees the session once the runs already started have finished. */
class Loaded implements LoadedVersion {
  private running = 0;
  private retired = false;
  private idle?: () => void;

  constructor(
    readonly name: string,
    readonly version: string,
    readonly featureNames: readonly string[],
    private readonly classifier: OnnxClassifier,
    private readonly readProfile: () => Promise<unknown | undefined>,
  ) {}

  async predictProba(rows: Float32Array, n: number): Promise<Float32Array> {
    if (this.retired) throw new Error(`${describeVersion(this.name, this.version)} was unloaded (evicted); load it again`);
    this.running++;
    try {
      return await this.classifier.predictProba(rows, n);
    } finally {
      if (--this.running === 0) this.idle?.();
    }
  }

  referenceProfile(): Promise<unknown | undefined> {
    return this.readProfile();
  }

  async retire(): Promise<void> {
    if (this.retired) return;
    this.retired = true;
    if (this.running > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await this.classifier.release();
  }
}
