/**
 * The offline policy gate: `npm run plan -- <stack> --policy`. Runs every rule of the pack over what
 * the stack program declares under mocks, with the enforcement file of the stack's environment
 * (policies/config/<mlops:environment>.json), as `pulumi preview --policy-pack policies
 * --policy-pack-config policies/config/<env>.json` would, without cloud credentials.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { allRules } from "../../policies/rules";
import type { PlanResult } from "./harness";
import { runPolicies, type PackConfig, type Violation } from "./policy-engine";
import { PROJECT_ROOT } from "./stack-config";

export const POLICY_CONFIG_DIR = path.join(PROJECT_ROOT, "policies", "config");

/** The environment's enforcement file, as `--policy-pack-config` reads it. */
export function packConfigFor(environment: string): PackConfig {
  const file = path.join(POLICY_CONFIG_DIR, `${environment}.json`);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new Error(`no policy config for environment "${environment}": ${path.relative(PROJECT_ROOT, file)} does not exist`);
  }
  try {
    return JSON.parse(text) as PackConfig;
  } catch (err) {
    throw new Error(`${path.relative(PROJECT_ROOT, file)} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * The stack's tags as Pulumi Cloud reports them to a policy pack (`pulumi:project`, `pulumi:runtime`),
 * plus `environment`, which the workflows and README set on every stack (`pulumi stack tag set`).
 */
export function stackTagsFor(plan: PlanResult, environment: string): Record<string, string> {
  return { "pulumi:project": plan.project, "pulumi:runtime": "nodejs", environment };
}

/** Every rule of the pack over the plan, with the enforcement of the stack's environment. */
export async function runPolicyGate(plan: PlanResult, environment = plan.config["mlops:environment"]): Promise<Violation[]> {
  if (!environment) throw new Error(`stack ${plan.stack} has no mlops:environment: cannot pick policies/config/<env>.json`);
  return runPolicies(allRules, plan.resources, {
    config: packConfigFor(environment),
    packLevel: "advisory",
    stackTags: stackTagsFor(plan, environment),
    stack: { project: plan.project, stack: plan.stack, config: plan.config },
  });
}
