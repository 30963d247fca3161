import { runProgram, type DeclaredResource, type PlanResult, type RunOptions } from "../../scripts/plan/harness";

/** Runs a stack under mocks once per test file (the cloud SDKs are slow to load) and caches it by options. */
const cache = new Map<string, Promise<PlanResult>>();
export function plan(options: RunOptions): Promise<PlanResult> {
  const key = JSON.stringify(options);
  if (!cache.has(key)) cache.set(key, runProgram(options));
  return cache.get(key)!;
}

export function ofType(result: PlanResult, type: string): DeclaredResource[] {
  return result.resources.filter((r) => r.type === type);
}

export function one(result: PlanResult, type: string): DeclaredResource {
  const found = ofType(result, type);
  if (found.length !== 1) throw new Error(`expected exactly one ${type}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
  return found[0];
}

export function byName(result: PlanResult, name: string): DeclaredResource {
  const found = result.resources.find((r) => r.name === name);
  if (!found) throw new Error(`no resource named ${name}`);
  return found;
}

export function policyDocument(resource: DeclaredResource, key = "policy"): { Statement: any[] } {
  const raw = resource.inputs[key];
  return typeof raw === "string" ? JSON.parse(raw) : raw;
}
