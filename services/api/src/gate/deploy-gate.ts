/**
 * The deploy gate: before an alias moves to a version, every check runs and each is reported, so one
 * refused deploy names everything to fix. It only reads (MLflow and the version's files); the deploy
 * route writes to the registry only when every check passed.
 *
 *   const gate = new DeployGate({ mlflow, registry, cacheDir: env.MODEL_CACHE_DIR, settings: gateSettings(env) });
 *   const report = await gate.evaluate(registeredModel, modelVersion, { alias: "champion" });
 *
 * Checks: `signature` (numeric column signature, equal to the champion's), `checksum` (model.onnx vs the
 * `sha256` tag), `loads_and_answers` (ONNX Runtime answers the input example with probabilities within
 * GATE_LATENCY_BUDGET_MS), `metrics_thresholds` (run metrics >= GATE_MIN_METRICS, per-model `min_<metric>`
 * tags win), `champion_margin` (no metric more than GATE_CHAMPION_MARGIN below the champion's),
 * `traffic` (challenger weight <= the environment's cap).
 */
import { MlflowError, readMlmodelFile, sha256Hex, versionTag, type InputSignature, type MlflowClient, type MlmodelInfo, type ModelVersion, type RegisteredModel } from "@mlops/common";
import { challengerCap, type ApiEnv } from "../env";
import { describeVersion, readOnnxBytes, versionDir } from "../models/version-files";
import { aliasMap, CHAMPION, isNotFound, modelTags, registryUnavailable, type ModelRegistry } from "../models/registry";
import { loadsAndAnswersCheck } from "./answers";
import { checksumCheck, marginCheck, metricsCheck, signatureCheck, trafficCheck, type CheckResult, type Probe } from "./checks";

export interface GateSettings {
  latencyBudgetMs: number;
  championMargin: number;
  /** Default floors; a registered model's `min_<metric>` tags override and extend them. */
  minMetrics: Record<string, number>;
  challengerCap: number;
}

export function gateSettings(env: Pick<ApiEnv, "GATE_LATENCY_BUDGET_MS" | "GATE_CHAMPION_MARGIN" | "GATE_MIN_METRICS" | "ENVIRONMENT" | "MAX_CHALLENGER_WEIGHT">): GateSettings {
  return { latencyBudgetMs: env.GATE_LATENCY_BUDGET_MS, championMargin: env.GATE_CHAMPION_MARGIN, minMetrics: env.GATE_MIN_METRICS, challengerCap: challengerCap(env) };
}

export type GateClient = Pick<MlflowClient, "getModelVersion" | "getDownloadUri" | "downloadArtifacts">;

export interface GateRequest {
  alias: "champion" | "challenger";
  /** Percent of traffic, for a challenger. */
  challengerWeight?: number;
}

export interface GateReport {
  passed: boolean;
  checks: CheckResult[];
  failed: CheckResult[];
}

const MIN_TAG = /^min_(.+)$/;

/** What the gate learnt of one version's files. */
interface VersionFacts {
  version: string;
  dir: Probe<string>;
  mlmodel: Probe<MlmodelInfo>;
  bytes: Probe<Buffer>;
}

export class DeployGate {
  constructor(private readonly deps: { mlflow: GateClient; registry: ModelRegistry; cacheDir: string; settings: GateSettings }) {}

  async evaluate(model: RegisteredModel, candidate: ModelVersion, request: GateRequest): Promise<GateReport> {
    const { settings, registry } = this.deps;
    const championVersion = aliasMap(model)[CHAMPION];
    const where = describeVersion(model.name, candidate.version);
    const candidateFacts = this.facts(model.name, candidate.version);
    const [facts, metrics, champion] = await Promise.all([
      candidateFacts,
      registry.runMetrics(candidate.run_id).then(
        (m): Probe<Record<string, number>> => (candidate.run_id ? { ok: true, value: m } : { ok: false, error: `version ${candidate.version} names no training run, so it has no metrics` }),
      ),
      championVersion === undefined ? undefined : this.champion(model.name, championVersion, championVersion === candidate.version ? candidateFacts : undefined),
    ]);
    const floors = floorsOf(model, settings.minMetrics);
    const expectedSha = versionTag(candidate, "sha256");
    const onnxFile = facts.mlmodel.ok ? facts.mlmodel.value.onnxFile : "model.onnx";
    const actualSha: Probe<string> = facts.bytes.ok ? { ok: true, value: sha256Hex(facts.bytes.value) } : facts.bytes;
    const checksum = checksumCheck(actualSha, expectedSha, onnxFile);
    const signature = signatureCheck(mapProbe(facts.mlmodel, (m) => m.signature), champion && { version: champion.version, signature: mapProbe(champion.facts.mlmodel, (m) => m.signature) });
    const answers = await loadsAndAnswersCheck(
      !facts.dir.ok || !facts.mlmodel.ok || !facts.bytes.ok
        ? { blocked: firstError(facts.dir, facts.mlmodel, facts.bytes) }
        : !checksum.passed
          ? { blocked: `${onnxFile} is not run before its checksum is verified (${checksum.detail})` }
          : {
              dir: facts.dir.value,
              info: facts.mlmodel.value,
              bytes: facts.bytes.value,
              columns: columnsOf(facts.mlmodel.value.signature),
              budgetMs: settings.latencyBudgetMs,
              where,
            },
    );
    const checks = [
      signature,
      checksum,
      answers,
      metricsCheck(metrics, floors),
      marginCheck(metrics, champion && { version: champion.version, metrics: champion.metrics }, candidate.version, settings.championMargin, floors.ok ? Object.keys(floors.value) : []),
      trafficCheck(request.alias, request.challengerWeight, settings.challengerCap),
    ];
    const failed = checks.filter((c) => !c.passed);
    return { passed: failed.length === 0, checks, failed };
  }

  /** The champion's files and metrics; `known` when it is the candidate's own version (read once). */
  private async champion(name: string, version: string, known?: Promise<VersionFacts>) {
    const mv = await this.deps.mlflow.getModelVersion(name, version).catch((err) => {
      throw registryUnavailable(err);
    });
    const [facts, metrics] = await Promise.all([
      known ?? this.facts(name, version),
      this.deps.registry.runMetrics(mv.run_id).then((m): Probe<Record<string, number>> => ({ ok: true, value: m })),
    ]);
    return { version, facts, metrics };
  }

  /** The version's directory, MLmodel and ONNX bytes; what cannot be had is a reason, not an exception. */
  private async facts(name: string, version: string): Promise<VersionFacts> {
    const where = describeVersion(name, version);
    const dir = await probe(() => versionDir(this.deps.mlflow, this.deps.cacheDir, name, version));
    const mlmodel = dir.ok ? await probe(() => readMlmodelFile(dir.value, where)) : dir;
    const bytes = dir.ok && mlmodel.ok ? await probe(() => readOnnxBytes(dir.value, mlmodel.value, where)) : mlmodel.ok ? dir : mlmodel;
    return { version, dir, mlmodel, bytes: bytes as Probe<Buffer> };
  }
}

/** Floors: the environment's defaults, then the registered model's `min_<metric>` tags. */
export function floorsOf(model: Pick<RegisteredModel, "tags">, defaults: Record<string, number>): Probe<Record<string, number>> {
  const floors = { ...defaults };
  for (const [key, value] of Object.entries(modelTags(model))) {
    const m = MIN_TAG.exec(key);
    if (!m) continue;
    const floor = Number(value);
    if (value.trim() === "" || !Number.isFinite(floor)) return { ok: false, error: `the registered model's tag ${key} is "${value}", not a number; fix the tag (e.g. ${key}=0.9)` };
    floors[m[1]] = floor;
  }
  return { ok: true, value: floors };
}

async function probe<T>(fn: () => Promise<T>): Promise<Probe<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    // MLflow down is the platform's trouble, not the version's: the whole call fails (502), nothing is judged.
    if (err instanceof MlflowError && !isNotFound(err) && (err.status === 0 || err.status >= 500 || err.status === 401 || err.status === 403)) throw registryUnavailable(err);
    return { ok: false, error: (err as Error).message };
  }
}

function mapProbe<T, U>(p: Probe<T>, fn: (t: T) => U): Probe<U> {
  return p.ok ? { ok: true, value: fn(p.value) } : p;
}

function firstError(...probes: Probe<unknown>[]): string {
  for (const p of probes) if (!p.ok) return p.error;
  return "";
}

function columnsOf(signature: InputSignature) {
  return signature.kind === "columns" ? signature.columns : undefined;
}
