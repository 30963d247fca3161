/**
 * The seed's Model, read from the MLflow registry: there is no second copy of the registry in the API,
 * every answer asks MLflow.
 *
 *   const registry = new ModelRegistry(mlflow);
 *
 * How the seed's fields map onto MLflow:
 * - `id` is the registered model's name. MLflow keys models by name; the seed's integer ids do not
 *   exist there, and inventing them would need the second copy this module avoids.
 * - `version` is the version the `champion` alias points at (else the latest version); `status` is
 *   `active` when a champion exists, `inactive` otherwise (`training` never appears: training runs
 *   outside the API).
 * - `model_type`, `algorithm`, `drift_threshold` (default 0.05), `monitoring_enabled` (default true)
 *   are registered-model tags; `metadata` holds its other tags, `hyperparameters` / `training_config`
 *   parsed when they are JSON.
 * - `accuracy`, `precision`, `recall`, `f1_score` are the metrics of the run that produced that version
 *   (`f1_score` or `f1`); `artifact_path` is the version's source; timestamps are MLflow's, as ISO text.
 */
import { MlflowError, type MlflowClient, type ModelVersion, type RegisteredModel } from "@mlops/common";
import { ApiError, conflict, modelNotFound } from "../http/errors";

export const MODEL_TAGS = {
  modelType: "model_type",
  algorithm: "algorithm",
  driftThreshold: "drift_threshold",
  monitoringEnabled: "monitoring_enabled",
  hyperparameters: "hyperparameters",
  trainingConfig: "training_config",
  /** The seed's free-form `version` ("2.0.0") given at creation; MLflow numbers versions itself. */
  versionLabel: "version_label",
  challengerWeight: "mlops.challenger_weight",
} as const;

/** Tags the Model shows as fields of its own, so not again in `metadata`. */
const FIELD_TAGS = new Set<string>([MODEL_TAGS.modelType, MODEL_TAGS.algorithm, MODEL_TAGS.driftThreshold, MODEL_TAGS.monitoringEnabled]);
const JSON_TAGS = new Set<string>([MODEL_TAGS.hyperparameters, MODEL_TAGS.trainingConfig]);

export const DEFAULT_MODEL_TYPE = "classification";
export const DEFAULT_DRIFT_THRESHOLD = 0.05;
export const CHAMPION = "champion";
export const CHALLENGER = "challenger";
/** How many names a 404 lists, so a client sees what exists without a second call. */
const AVAILABLE_MODELS_SHOWN = 20;

export interface ModelView {
  id: string;
  name: string;
  version: string | null;
  model_type: string;
  status: "active" | "inactive";
  description: string;
  algorithm: string | null;
  accuracy: number | null;
  precision: number | null;
  recall: number | null;
  f1_score: number | null;
  created_at: string | null;
  updated_at: string | null;
  artifact_path: string | null;
  metadata: Record<string, unknown>;
  drift_threshold: number;
  monitoring_enabled: boolean;
  aliases: Record<string, string>;
}

export interface VersionView {
  version: string;
  aliases: string[];
  status: string | null;
  run_id: string | null;
  source: string | null;
  created_at: string | null;
  updated_at: string | null;
  metrics: Record<string, number>;
  tags: Record<string, string>;
}

export interface ModelDetail extends ModelView {
  versions: VersionView[];
}

export interface ModelFilter {
  skip: number;
  limit: number;
  model_type?: string;
  status?: string;
}

export interface NewModel {
  name: string;
  version?: string;
  model_type: string;
  description?: string;
  algorithm?: string;
  hyperparameters?: Record<string, unknown>;
  training_config?: Record<string, unknown>;
  drift_threshold?: number;
  monitoring_enabled?: boolean;
}

export interface ModelPatch {
  description?: string;
  drift_threshold?: number;
  monitoring_enabled?: boolean;
  model_type?: string;
  algorithm?: string;
}

/** What this module needs of MLflow (MlflowClient has it all). */
export type RegistryClient = Pick<
  MlflowClient,
  | "listRegisteredModels"
  | "getRegisteredModel"
  | "createRegisteredModel"
  | "updateRegisteredModel"
  | "deleteRegisteredModel"
  | "setRegisteredModelTag"
  | "getModelVersion"
  | "getModelVersionByAlias"
  | "listModelVersions"
  | "getRun"
>;

export const isNotFound = (err: unknown) => err instanceof MlflowError && (err.status === 404 || err.errorCode === "RESOURCE_DOES_NOT_EXIST");

/** MLflow failing (down, refusing our credentials) is not the caller's fault: 502 naming what failed. */
export function registryUnavailable(err: unknown): unknown {
  if (err instanceof MlflowError) return new ApiError(502, "REGISTRY_UNAVAILABLE", `the model registry (MLflow) failed: ${err.message}`);
  return err;
}

export class ModelRegistry {
  constructor(private readonly mlflow: RegistryClient) {}

  async list(filter: ModelFilter): Promise<{ models: ModelView[]; total: number }> {
    const all = await this.call(() => this.mlflow.listRegisteredModels());
    // Type and status come from the registered model itself, so filtering costs no further calls;
    // only the page shown pays for its versions' run metrics.
    const matching = all
      .filter((m) => filter.model_type === undefined || modelType(m) === filter.model_type)
      .filter((m) => filter.status === undefined || status(m) === filter.status)
      .sort((a, b) => a.name.localeCompare(b.name));
    const page = matching.slice(filter.skip, filter.skip + filter.limit);
    return { models: await Promise.all(page.map((m) => this.view(m))), total: matching.length };
  }

  async get(name: string): Promise<ModelDetail> {
    const model = await this.require(name);
    const versions = await this.call(() => this.mlflow.listModelVersions(name));
    const views = await Promise.all(versions.map((v) => this.versionView(v, model)));
    const shown = this.shownVersion(model, versions);
    return { ...modelView(model, shown, shown ? views.find((v) => v.version === shown.version)!.metrics : {}), versions: views };
  }

  async create(m: NewModel): Promise<RegisteredModel> {
    const tags: Record<string, string> = { [MODEL_TAGS.modelType]: m.model_type };
    if (m.algorithm !== undefined) tags[MODEL_TAGS.algorithm] = m.algorithm;
    if (m.version !== undefined) tags[MODEL_TAGS.versionLabel] = m.version;
    if (m.hyperparameters !== undefined) tags[MODEL_TAGS.hyperparameters] = JSON.stringify(m.hyperparameters);
    if (m.training_config !== undefined) tags[MODEL_TAGS.trainingConfig] = JSON.stringify(m.training_config);
    if (m.drift_threshold !== undefined) tags[MODEL_TAGS.driftThreshold] = String(m.drift_threshold);
    if (m.monitoring_enabled !== undefined) tags[MODEL_TAGS.monitoringEnabled] = String(m.monitoring_enabled);
    try {
      return await this.mlflow.createRegisteredModel(m.name, { description: m.description, tags });
    } catch (err) {
      if (err instanceof MlflowError && err.errorCode === "RESOURCE_ALREADY_EXISTS") throw conflict(`a model named ${m.name} already exists`, { model_id: m.name });
      throw registryUnavailable(err);
    }
  }

  async update(name: string, patch: ModelPatch): Promise<ModelDetail> {
    await this.require(name);
    const tags: [string, string | undefined][] = [
      [MODEL_TAGS.driftThreshold, patch.drift_threshold?.toString()],
      [MODEL_TAGS.monitoringEnabled, patch.monitoring_enabled?.toString()],
      [MODEL_TAGS.modelType, patch.model_type],
      [MODEL_TAGS.algorithm, patch.algorithm],
    ];
    await this.call(async () => {
      if (patch.description !== undefined) await this.mlflow.updateRegisteredModel(name, patch.description);
      for (const [key, value] of tags) if (value !== undefined) await this.mlflow.setRegisteredModelTag(name, key, value);
    });
    return this.get(name);
  }

  /** Deletes a registered model, unless an alias still points at one of its versions (serving reads it). */
  async delete(name: string): Promise<void> {
    const model = await this.require(name);
    const aliases = model.aliases ?? [];
    if (aliases.length) {
      const list = aliases.map((a) => `${a.alias} -> version ${a.version}`).join(", ");
      throw new ApiError(409, "MODEL_IN_SERVICE", `${name} is in service (${list}); deleting it would break serving: move or delete the aliases first`, {
        model_id: name,
        aliases: Object.fromEntries(aliases.map((a) => [a.alias, a.version])),
      });
    }
    await this.call(() => this.mlflow.deleteRegisteredModel(name));
  }

  /** The registered model, or 404 MODEL_NOT_FOUND listing (some of) the models that do exist. */
  async require(name: string): Promise<RegisteredModel> {
    try {
      return await this.mlflow.getRegisteredModel(name);
    } catch (err) {
      if (!isNotFound(err)) throw registryUnavailable(err);
    }
    const err = modelNotFound(name);
    const names = await this.call(() => this.mlflow.listRegisteredModels()).then((all) => all.map((m) => m.name).sort());
    err.details.available_models = names.slice(0, AVAILABLE_MODELS_SHOWN);
    throw err;
  }

  /** The latest value of each metric of a run (`runs/get` answers the latest value per key). */
  async runMetrics(runId: string | undefined): Promise<Record<string, number>> {
    if (!runId) return {};
    let run;
    try {
      run = await this.mlflow.getRun(runId);
    } catch (err) {
      // A version may come from a run that was since deleted: it then has no metrics, not an error.
      if (isNotFound(err)) return {};
      throw registryUnavailable(err);
    }
    return Object.fromEntries((run.data?.metrics ?? []).map((m) => [m.key, m.value]));
  }

  private async view(model: RegisteredModel): Promise<ModelView> {
    const championVersion = aliasMap(model)[CHAMPION];
    const shown = championVersion
      ? await this.call(() => this.mlflow.getModelVersion(model.name, championVersion))
      : (model.latest_versions ?? []).reduce<ModelVersion | undefined>((a, b) => (!a || Number(b.version) > Number(a.version) ? b : a), undefined);
    return modelView(model, shown, await this.runMetrics(shown?.run_id));
  }

  private async versionView(v: ModelVersion, model: RegisteredModel): Promise<VersionView> {
    const aliases = Object.entries(aliasMap(model)).filter(([, ver]) => ver === v.version).map(([a]) => a);
    return {
      version: v.version,
      aliases,
      status: v.status ?? null,
      run_id: v.run_id || null,
      source: v.source ?? null,
      created_at: iso(v.creation_timestamp),
      updated_at: iso(v.last_updated_timestamp),
      metrics: await this.runMetrics(v.run_id),
      tags: Object.fromEntries((v.tags ?? []).map((t) => [t.key, t.value])),
    };
  }

  private shownVersion(model: RegisteredModel, versions: ModelVersion[]): ModelVersion | undefined {
    const champion = aliasMap(model)[CHAMPION];
    return versions.find((v) => v.version === champion) ?? versions[0];
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw registryUnavailable(err);
    }
  }
}

export function aliasMap(model: Pick<RegisteredModel, "aliases">): Record<string, string> {
  return Object.fromEntries((model.aliases ?? []).map((a) => [a.alias, a.version]));
}

export function modelTags(model: Pick<RegisteredModel, "tags">): Record<string, string> {
  return Object.fromEntries((model.tags ?? []).map((t) => [t.key, t.value]));
}

const modelType = (m: RegisteredModel) => modelTags(m)[MODEL_TAGS.modelType] ?? DEFAULT_MODEL_TYPE;
const status = (m: RegisteredModel): ModelView["status"] => (aliasMap(m)[CHAMPION] ? "active" : "inactive");

/** The seed's f1_score; MLflow runs often log it as `f1`. */
export function metricValue(metrics: Record<string, number>, key: string): number | undefined {
  if (key in metrics) return metrics[key];
  if (key === "f1_score") return metrics.f1;
  if (key === "f1") return metrics.f1_score;
  return undefined;
}

function modelView(model: RegisteredModel, shown: ModelVersion | undefined, metrics: Record<string, number>): ModelView {
  const tags = modelTags(model);
  const metadata: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(tags)) {
    if (FIELD_TAGS.has(key)) continue;
    metadata[key] = JSON_TAGS.has(key) ? parseJsonTag(value) : value;
  }
  const threshold = Number(tags[MODEL_TAGS.driftThreshold]);
  return {
    id: model.name,
    name: model.name,
    version: shown?.version ?? null,
    model_type: modelType(model),
    status: status(model),
    description: model.description ?? "",
    algorithm: tags[MODEL_TAGS.algorithm] ?? null,
    accuracy: metricValue(metrics, "accuracy") ?? null,
    precision: metricValue(metrics, "precision") ?? null,
    recall: metricValue(metrics, "recall") ?? null,
    f1_score: metricValue(metrics, "f1_score") ?? null,
    created_at: iso(model.creation_timestamp),
    updated_at: iso(model.last_updated_timestamp),
    artifact_path: shown?.source ?? null,
    metadata,
    drift_threshold: tags[MODEL_TAGS.driftThreshold] !== undefined && Number.isFinite(threshold) ? threshold : DEFAULT_DRIFT_THRESHOLD,
    monitoring_enabled: tags[MODEL_TAGS.monitoringEnabled] === undefined ? true : tags[MODEL_TAGS.monitoringEnabled] !== "false",
    aliases: aliasMap(model),
  };
}

function parseJsonTag(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function iso(ms: number | undefined): string | null {
  return typeof ms === "number" && Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}
