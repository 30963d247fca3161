/**
 * POST /models/{id}/deploy: moves the `champion` or `challenger` alias to a version once the deploy gate
 * passed every check (gate/deploy-gate.ts). Serving follows the alias by itself; replicas and resources
 * are stack configuration, so the request's scaling and resource wishes are compared with the stack's
 * profile and reported, not applied.
 *
 *   registerDeployRoutes(api, { registry, gate, mlflow, environment: env.ENVIRONMENT, challengerCap: challengerCap(env), servingProfile: env.SERVING_PROFILE });
 *
 * Nothing is written to MLflow unless every check passed; then the alias moves (a registry failure
 * there is a 502 REGISTRY_UNAVAILABLE and nothing moved), the version gets the tags
 * `mlops.deployed_by` / `mlops.deployed_at`, and a challenger's weight is recorded as the registered
 * model's tag `mlops.challenger_weight`. A failure of those writes, after the alias moved, is answered
 * 200 with `warnings`: the deploy happened. Serving reads that tag at each registry poll of its
 * challenger alias (within its RELOAD_INTERVAL_S) and splits traffic by it, capped by the
 * environment's MAX_CHALLENGER_WEIGHT (prod 10); the stack's `mlops:models[].challenger.weight` is only
 * its weight while no tag is set. The answer's `traffic_note` says so.
 */
import type { MlflowClient, ModelVersion } from "@mlops/common";
import { z } from "zod";
import type { ServingProfile } from "../env";
import type { ApiRouter } from "../http/endpoint";
import { ApiError } from "../http/errors";
import type { Environment } from "../identity/roles";
import { CHECK_NAMES } from "../gate/checks";
import type { DeployGate } from "../gate/deploy-gate";
import { infrastructureReport } from "../gate/infrastructure";
import { aliasMap, isNotFound, MODEL_TAGS, registryUnavailable, type ModelRegistry } from "../models/registry";
import { modelIdParams } from "../models/schemas";

export interface DeployRouteDeps {
  registry: ModelRegistry;
  gate: DeployGate;
  mlflow: Pick<MlflowClient, "getModelVersion" | "listModelVersions" | "setAlias" | "setModelVersionTag" | "setRegisteredModelTag">;
  /** The stack's environment: the only one this API deploys to. */
  environment: Environment;
  /** Most challenger traffic a deploy may ask for, in percent (challengerCap(env)). */
  challengerCap: number;
  servingProfile?: ServingProfile;
}

export const DEPLOYED_BY_TAG = "mlops.deployed_by";
export const DEPLOYED_AT_TAG = "mlops.deployed_at";
/** A challenger deployed without a weight gets this share (never more than the cap). */
export const DEFAULT_CHALLENGER_WEIGHT = 10;

const quantity = z.string().regex(/^\d+(\.\d+)?(m|Ki|Mi|Gi)?$/, "expected a Kubernetes quantity such as 500m, 512Mi or 2Gi");

function deployBody(environment: Environment) {
  return z
    .object({
      version: z
        .union([z.string().regex(/^[1-9]\d*$/, "expected a registry version number"), z.number().int().positive()])
        .transform(String)
        .optional()
        .describe("The registry version to deploy; default: the latest")
        .meta({ example: "3" }),
      alias: z.enum(["champion", "challenger"]).default("champion"),
      challenger_weight: z.number().min(0).max(100).optional().describe(`Percent of traffic for a challenger (default ${DEFAULT_CHALLENGER_WEIGHT}); at most the environment's cap (prod 10)`),
      environment: z
        .string()
        .refine((v) => v === environment, `this API deploys to its own stack's environment, ${environment}; deploy to another environment through that stack's API`)
        .meta({ example: environment }),
      scaling_config: z
        .object({ min_instances: z.number().int().min(1), max_instances: z.number().int().min(1), target_cpu_utilization: z.number().int().min(1).max(100) })
        .strict()
        .refine((s) => s.min_instances <= s.max_instances, { message: "min_instances must not exceed max_instances", path: ["min_instances"] })
        .optional(),
      resource_config: z.object({ cpu: quantity, memory: quantity }).strict().optional(),
    })
    .strict()
    .refine((b) => b.challenger_weight === undefined || b.alias === "challenger", { message: "challenger_weight applies only to alias challenger", path: ["challenger_weight"] });
}

const checkSchema = z.object({ name: z.enum(CHECK_NAMES), passed: z.boolean(), detail: z.string(), measured: z.record(z.string(), z.unknown()) });

const deployedSchema = z.object({
  model_id: z.string(),
  version: z.string(),
  alias: z.enum(["champion", "challenger"]),
  previous_version: z.string().nullable().describe("Where the alias pointed before"),
  environment: z.string(),
  challenger_weight: z.number().optional(),
  traffic_note: z.string().optional().describe("Where a challenger's share of traffic is applied"),
  checks: z.array(checkSchema),
  infrastructure: z.object({
    requested: z.record(z.string(), z.unknown()),
    stack_profile: z.record(z.string(), z.unknown()).nullable(),
    within_profile: z.boolean().nullable(),
    differences: z.array(z.string()),
    applied: z.literal(false),
    note: z.string(),
  }),
  deployed_at: z.string(),
  warnings: z.array(z.string()).optional().describe("What recording the deploy could not write to the registry; the alias did move"),
});

export function registerDeployRoutes(api: ApiRouter, deps: DeployRouteDeps): void {
  const { registry, gate, mlflow, environment, challengerCap, servingProfile } = deps;
  api.endpoint({
    method: "post",
    path: "/models/{id}/deploy",
    operationId: "deployModel",
    summary: "Move the champion or challenger alias to a version, behind the deploy gate",
    description:
      "Runs every check of the deploy gate (signature, checksum, loads_and_answers, metrics_thresholds, champion_margin, traffic) and reports each. " +
      "Any failure: 422 DEPLOY_GATE_FAILED with details.checks, and nothing is written. All passed: the alias moves in the MLflow registry and serving follows it. " +
      "scaling_config and resource_config are compared with the stack's serving profile and reported under `infrastructure`; they are applied by pulumi up, not here.",
    tag: "models",
    access: "deploy_models",
    rateClass: "models",
    params: modelIdParams,
    body: deployBody(environment),
    responses: {
      200: { description: "Deployed", schema: deployedSchema },
      404: { description: "No such model (MODEL_NOT_FOUND) or version (MODEL_VERSION_NOT_FOUND)" },
      409: { description: "The model has no version yet (NO_VERSION)" },
    },
    handler: async ({ params, body, principal, auditDetail }) => {
      const model = await registry.require(params.id);
      const candidate = await versionToDeploy(mlflow, params.id, body.version);
      const previous = aliasMap(model)[body.alias] ?? null;
      auditDetail({ version: candidate.version, alias: body.alias, previous_version: previous });
      const weight = body.alias === "challenger" ? (body.challenger_weight ?? Math.min(DEFAULT_CHALLENGER_WEIGHT, challengerCap)) : undefined;
      const report = await gate.evaluate(model, candidate, { alias: body.alias, challengerWeight: weight });
      const infrastructure = infrastructureReport(body.scaling_config, body.resource_config, servingProfile);
      if (!report.passed) {
        auditDetail({ failed_checks: report.failed.map((c) => c.name) });
        throw new ApiError(422, "DEPLOY_GATE_FAILED", `version ${candidate.version} of ${params.id} did not pass the deploy gate: ${report.failed.map((c) => `${c.name}: ${c.detail}`).join("; ")}`, {
          model_id: params.id,
          version: candidate.version,
          alias: body.alias,
          failed: report.failed.map((c) => c.name),
          checks: report.checks,
          infrastructure,
        });
      }
      const deployedAt = new Date().toISOString();
      // The alias first: it is the deploy. When it fails nothing moved, and the caller may retry.
      try {
        await mlflow.setAlias(params.id, body.alias, candidate.version);
      } catch (err) {
        throw registryUnavailable(err);
      }
      // The alias moved: the deploy happened, so what only records it is reported when the registry
      // refuses it, not turned into a failure the caller would retry.
      const warnings: string[] = [];
      const record = async (what: string, write: () => Promise<unknown>) => {
        try {
          await write();
        } catch (err) {
          warnings.push(`${what} was not written (${(err as Error).message}); the alias did move`);
        }
      };
      await record(`the version's tag ${DEPLOYED_BY_TAG}`, () => mlflow.setModelVersionTag(params.id, candidate.version, DEPLOYED_BY_TAG, principal!.username));
      await record(`the version's tag ${DEPLOYED_AT_TAG}`, () => mlflow.setModelVersionTag(params.id, candidate.version, DEPLOYED_AT_TAG, deployedAt));
      if (weight !== undefined) {
        await record(`the challenger weight (the registered model's tag ${MODEL_TAGS.challengerWeight}: serving keeps the weight it has until it is set)`, () =>
          mlflow.setRegisteredModelTag(params.id, MODEL_TAGS.challengerWeight, String(weight)),
        );
      }
      if (warnings.length) auditDetail({ warnings });
      return {
        body: {
          model_id: params.id,
          version: candidate.version,
          alias: body.alias,
          previous_version: previous,
          environment,
          ...(weight !== undefined
            ? {
                challenger_weight: weight,
                traffic_note: `recorded as the registered model's tag ${MODEL_TAGS.challengerWeight}; serving applies it at its next registry poll of the challenger alias (within its RELOAD_INTERVAL_S), capped by the environment's MAX_CHALLENGER_WEIGHT (${environment}: ${challengerCap}%)`,
              }
            : {}),
          checks: report.checks,
          infrastructure,
          deployed_at: deployedAt,
          ...(warnings.length ? { warnings } : {}),
        },
      };
    },
  });
}

async function versionToDeploy(mlflow: DeployRouteDeps["mlflow"], name: string, version: string | undefined): Promise<ModelVersion> {
  if (version === undefined) {
    const versions = await mlflow.listModelVersions(name).catch((err) => {
      throw registryUnavailable(err);
    });
    if (!versions.length) throw new ApiError(409, "NO_VERSION", `${name} has no version yet; the training pipeline registers versions`, { model_id: name });
    return versions[0];
  }
  try {
    return await mlflow.getModelVersion(name, version);
  } catch (err) {
    if (!isNotFound(err)) throw registryUnavailable(err);
    const versions = await mlflow.listModelVersions(name).catch(() => []);
    throw new ApiError(404, "MODEL_VERSION_NOT_FOUND", `${name} has no version ${version}`, { model_id: name, version, available_versions: versions.map((v) => v.version) });
  }
}
