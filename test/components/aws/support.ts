import { runProgram, type DeclaredResource, type PlanResult } from "../../../scripts/plan/harness";
import { ofType } from "../../helpers/plan";

/** A parsed IAM / bucket policy document. */
export interface PolicyDocument {
  Version: string;
  Statement: Array<{ Sid?: string; Effect: "Allow" | "Deny"; Principal?: any; Action: string | string[]; Resource?: string | string[]; Condition?: Record<string, Record<string, any>> }>;
}

/** The JSON policy held in `key` of a declared resource, parsed (the program passes JSON strings). */
export function documentOf(resource: DeclaredResource, key = "policy"): PolicyDocument {
  const raw = resource.inputs[key];
  if (typeof raw !== "string") throw new Error(`${resource.name}.${key} is not a JSON string: ${JSON.stringify(raw)}`);
  return JSON.parse(raw) as PolicyDocument;
}

export const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** The tags the stack's config asks for on every taggable resource (tags.ts adds project, environment, managed-by). */
export function standardTags(result: PlanResult): Record<string, string> {
  const extra = JSON.parse(result.config["mlops:tags"]) as Record<string, string>;
  return { ...extra, project: "mlops-platform", environment: result.config["mlops:environment"], "managed-by": "pulumi" };
}

/**
 * Whether the SDK's resource takes `tags`: read from the @pulumi/aws class itself (its constructor
 * copies `args.tags` into the inputs), so a newly used type is checked without a list to maintain.
 */
export function takesTags(type: string): boolean {
  const m = /^aws:([^/]+)\/[^:]+:(\w+)$/.exec(type);
  if (!m) return false;
  const aws = require("@pulumi/aws") as Record<string, Record<string, unknown>>;
  const cls = aws[m[1]]?.[m[2]] as { __pulumiType?: string } | undefined;
  if (!cls || cls.__pulumiType !== type) throw new Error(`no @pulumi/aws class for ${type}`);
  return String(cls).includes('resourceInputs["tags"] = args?.tags');
}

/** The AWS resources (not the workloads' Kubernetes objects) of a plan, children of one component type. */
export function underComponent(result: PlanResult, componentType: string): DeclaredResource[] {
  return result.resources.filter((r) => r.parent?.includes(`${componentType}::`));
}

export function named(result: PlanResult, type: string, suffix: string): DeclaredResource {
  const found = ofType(result, type).filter((r) => r.name.endsWith(suffix));
  if (found.length !== 1) throw new Error(`expected one ${type} named *${suffix}, found ${found.map((r) => r.name).join(", ") || "none"}`);
  return found[0];
}

/** The id the mocked provider gave a resource (what other resources receive as its `id`). */
export const idOf = (r: DeclaredResource): string => r.id ?? `${r.name}-id`;

export const TEST_TAGS = { project: "mlops-platform", environment: "test", team: "t", "cost-center": "c", "managed-by": "pulumi" };

/**
 * Declares components directly (not through the stack program) under the same mocks, so a test can
 * give them arguments the stacks do not use. The dev stack's config is loaded but not read.
 */
export function declare(build: () => void): Promise<PlanResult> {
  return runProgram({ stack: "dev" }, () => async () => {
    build();
    return {};
  });
}
