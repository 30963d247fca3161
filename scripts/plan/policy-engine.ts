/**
 * Runs the policy pack's real rule objects over the resources a program declared, with the semantics
 * of the Pulumi policy engine (@pulumi/policy's analyzer server and the CLI's config handling), but
 * without starting a PolicyPack (which would open the gRPC server the CLI talks to):
 *
 * - config: the schema defaults, then the environment file (`--policy-pack-config`): "all" first, then
 *   each policy's entry; values validated against each rule's configSchema like the CLI does;
 * - levels: the policy's entry, else "all", else the rule's own level, else the pack's; remediate
 *   counts as mandatory; disabled rules do not run;
 * - resource policies see inputs through the unknown-checking proxy, with `opts`, `provider` (explicit,
 *   or the default provider built from the stack's `<package>:` config), `stackTags`, `isType`/`asType`,
 *   `getConfig`, `notApplicable`; a single validateResourceOfType skips other types up front;
 * - stack policies see every resource's outputs with parent, dependencies, propertyDependencies;
 * - reading a value unknown during preview ends that validation with the engine's advisory
 *   "can't run policy ... during preview" (the rules of this pack report such values themselves).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type {
  EnforcementLevel,
  PolicyProviderResource,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { DeclaredResource } from "./harness";

const policy = require("@pulumi/policy") as {
  unknownCheckingProxy<T extends object>(o: T): T;
  UnknownValueError: new (...args: any[]) => Error;
};
const proxy = require("@pulumi/policy/proxy") as { unknownStringValue: string };

export type Level = Exclude<EnforcementLevel, "remediate">;
type AnyRule = ResourceValidationPolicy | StackValidationPolicy;
const LEVELS: EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

/** The `--policy-pack-config` file: per policy (or "all") a level, or an object of parameters with an optional level. */
export type PackConfig = Record<string, unknown>;

export interface Violation {
  policy: string;
  /** URN of the resource, or "stack" when a stack policy reports without one. */
  resource: string;
  message: string;
  level: Level;
  severity?: string;
}

export interface StackContext {
  project: string;
  stack: string;
  /** The stack's flat `namespace:key` config: default providers are built from it. */
  config: Record<string, string>;
}

export interface EngineOptions {
  /** The environment file's content. */
  config?: PackConfig;
  /** The PolicyPack's own enforcementLevel (policies/index.ts: advisory). */
  packLevel?: Level;
  stackTags?: Record<string, string>;
  stack?: StackContext;
}

export class PolicyConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`policy pack configuration is invalid:\n  ${problems.join("\n  ")}`);
    this.name = "PolicyConfigError";
  }
}

export const PACK_NAME = "mlops-platform";
export const PACK_VERSION: string = JSON.parse(readFileSync(path.resolve(__dirname, "..", "..", "policies", "package.json"), "utf8")).version;

/** The UUID the Pulumi runtime puts in place of a value unknown during preview. */
const RUNTIME_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

// ---------------------------------------------------------------------------------------------
// Configuration

interface ParsedEntry {
  level?: EnforcementLevel;
  properties: Record<string, unknown>;
}

/** Parses the file as the CLI does: a string must be a level, an object may carry enforcementLevel. */
export function parsePackConfig(config: PackConfig): Map<string, ParsedEntry> {
  const problems: string[] = [];
  const entries = new Map<string, ParsedEntry>();
  for (const [name, value] of Object.entries(config)) {
    if (typeof value === "string") {
      if (!LEVELS.includes(value as EnforcementLevel)) problems.push(`${name}: "${value}" is not a valid enforcement level (${LEVELS.join(", ")})`);
      else entries.set(name, { level: value as EnforcementLevel, properties: {} });
    } else if (value && typeof value === "object" && !Array.isArray(value)) {
      const { enforcementLevel, ...properties } = value as Record<string, unknown>;
      if (enforcementLevel !== undefined && !LEVELS.includes(enforcementLevel as EnforcementLevel)) problems.push(`${name}: enforcementLevel ${JSON.stringify(enforcementLevel)} is not a valid enforcement level`);
      else entries.set(name, { level: enforcementLevel as EnforcementLevel | undefined, properties });
    } else {
      problems.push(`${name}: ${JSON.stringify(value)} is not a valid value; must be a string or object`);
    }
  }
  if (problems.length) throw new PolicyConfigError(problems);
  return entries;
}

export interface ResolvedPolicy {
  level: Level;
  params: Record<string, unknown>;
}

/**
 * Each rule's level and parameters for a config file. Stricter than the CLI in one way: a config
 * entry naming no rule of the pack is an error (the CLI ignores it, so a typo in prod.json would
 * silently leave a rule at its default level).
 */
export function resolveConfig(rules: AnyRule[], config: PackConfig = {}, packLevel: Level = "advisory"): Map<string, ResolvedPolicy> {
  const entries = parsePackConfig(config);
  const names = new Set(rules.map((r) => r.name));
  const problems = [...entries.keys()].filter((k) => k !== "all" && !names.has(k)).map((k) => `${k}: no policy of this name in the pack (known: ${[...names].join(", ")})`);
  const all = entries.get("all");
  const resolved = new Map<string, ResolvedPolicy>();
  for (const rule of rules) {
    const entry = entries.get(rule.name);
    const level = entry?.level ?? all?.level ?? rule.enforcementLevel ?? packLevel;
    const params = { ...defaultsOf(rule), ...(entry?.properties ?? {}) };
    problems.push(...validateParams(rule, params));
    resolved.set(rule.name, { level: level === "remediate" ? "mandatory" : level, params });
  }
  if (problems.length) throw new PolicyConfigError(problems);
  return resolved;
}

function defaultsOf(rule: AnyRule): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(rule.configSchema?.properties ?? {})) {
    if ((schema as { default?: unknown }).default !== undefined) result[key] = structuredClone((schema as { default: unknown }).default);
  }
  return result;
}

/** The JSON Schema keywords the pack's configSchemas use (the CLI validates with gojsonschema). */
function validateParams(rule: AnyRule, params: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const key of rule.configSchema?.required ?? []) if (params[key] === undefined) problems.push(`${rule.name}: ${key} is required`);
  for (const [key, schema] of Object.entries(rule.configSchema?.properties ?? {})) {
    if (params[key] !== undefined) problems.push(...validateValue(params[key], schema as JsonSchema, `${rule.name}: ${key}`));
  }
  return problems;
}

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  pattern?: string;
  items?: JsonSchema;
}

function validateValue(value: unknown, schema: JsonSchema, at: string): string[] {
  const types = [schema.type ?? []].flat();
  const typeOf = Array.isArray(value) ? "array" : value === null ? "null" : Number.isInteger(value) ? "integer" : typeof value;
  const fits = types.length === 0 || types.some((t) => t === typeOf || (t === "number" && typeOf === "integer"));
  if (!fits) return [`${at}: expected ${types.join(" or ")}, got ${JSON.stringify(value)}`];
  const problems: string[] = [];
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) problems.push(`${at}: must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}, got ${JSON.stringify(value)}`);
  if (typeof value === "number" && schema.minimum !== undefined && value < schema.minimum) problems.push(`${at}: must be >= ${schema.minimum}, got ${value}`);
  if (typeof value === "number" && schema.maximum !== undefined && value > schema.maximum) problems.push(`${at}: must be <= ${schema.maximum}, got ${value}`);
  if (typeof value === "string" && schema.pattern && !new RegExp(schema.pattern).test(value)) problems.push(`${at}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => problems.push(...validateValue(v, schema.items!, `${at}[${i}]`)));
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Running the rules

class NotApplicable extends Error {}

function frozenTags(tags: Record<string, string>): ReadonlyMap<string, string> {
  const map = new Map(Object.entries(tags));
  return Object.freeze({
    entries: map.entries.bind(map),
    forEach: map.forEach.bind(map),
    get: map.get.bind(map),
    has: map.has.bind(map),
    keys: map.keys.bind(map),
    size: map.size,
    values: map.values.bind(map),
    [Symbol.iterator]: map[Symbol.iterator].bind(map),
  }) as ReadonlyMap<string, string>;
}

/**
 * Properties as the analyzer receives them over gRPC (a protobuf Struct): no undefined values, and
 * the policy SDK's unknown sentinel where the runtime left its own, so the proxy throws on access.
 */
function markUnknowns<T>(value: T): T {
  if (value === (RUNTIME_UNKNOWN as unknown)) return proxy.unknownStringValue as T;
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : markUnknowns(v))) as T;
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, markUnknowns(v)])) as T;
  return value;
}

function isTypeOf(type: string, cls: unknown): boolean {
  const token = (cls as { __pulumiType?: unknown })?.__pulumiType;
  if (typeof token === "string" && token.length > 0) return token === type;
  const isInstance = (cls as { isInstance?: (o: unknown) => boolean })?.isInstance;
  return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
}

function optionsOf(r: DeclaredResource): PolicyResourceOptions {
  return {
    protect: r.protect,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
    ...(r.parent ? { parent: r.parent } : {}),
  } as PolicyResourceOptions;
}

/**
 * The provider a resource is created with: its explicit provider resource, or the default provider
 * of its package, whose inputs are the stack's `<package>:<key>` config (strings, as the engine
 * passes config to providers).
 */
function providerResolver(resources: DeclaredResource[], stack: StackContext | undefined) {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  return (r: DeclaredResource): PolicyProviderResource | undefined => {
    if (!r.custom || r.type.startsWith("pulumi:")) return undefined;
    if (r.provider) {
      const urn = r.provider.split("::").slice(0, -1).join("::");
      const found = byUrn.get(urn);
      if (found) return { type: found.type, props: policy.unknownCheckingProxy(markUnknowns({ ...found.inputs })), urn: found.urn, name: found.name };
    }
    if (!stack) return undefined;
    const pkg = r.type.split(":")[0];
    const props = Object.fromEntries(
      Object.entries(stack.config)
        .filter(([k]) => k.startsWith(`${pkg}:`))
        .map(([k, v]) => [k.slice(pkg.length + 1), v]),
    );
    const name = defaultProviderName(pkg);
    return { type: `pulumi:providers:${pkg}`, props: policy.unknownCheckingProxy(props), urn: `urn:pulumi:${stack.stack}::${stack.project}::pulumi:providers:${pkg}::${name}`, name };
  };
}

/** `default_7_48_0`: the engine names a default provider after the package's version. */
function defaultProviderName(pkg: string): string {
  try {
    const version: string = require(`@pulumi/${pkg}/package.json`).version;
    return `default_${version.replace(/^v/, "").replace(/[.-]/g, "_")}`;
  } catch {
    return "default";
  }
}

export async function runPolicies(rules: AnyRule[], resources: DeclaredResource[], options: EngineOptions = {}): Promise<Violation[]> {
  const resolved = resolveConfig(rules, options.config ?? {}, options.packLevel ?? "advisory");
  const stackTags = frozenTags(options.stackTags ?? {});
  const providerOf = providerResolver(resources, options.stack);
  const violations: Violation[] = [];

  for (const rule of rules) {
    const { level, params } = resolved.get(rule.name)!;
    if (level === "disabled") continue;
    const getConfig = <T>() => structuredClone(params) as T;
    const notApplicable = (reason?: string): never => {
      throw new NotApplicable(reason);
    };
    const push = (resource: string, message: string, at: Level = level) => violations.push({ policy: rule.name, resource, message, level: at, severity: rule.severity });
    const onUnknown = (resource: string) => (err: Error) =>
      push(resource, `can't run policy '${rule.name}' from policy pack '${PACK_NAME}@v${PACK_VERSION}' during preview: ${err.message}`, "advisory");

    if ("validateResource" in rule && rule.validateResource) {
      const validations = [rule.validateResource].flat();
      const onlyType = validations.length === 1 ? (validations[0] as { __pulumiType?: string }).__pulumiType : undefined;
      for (const r of resources) {
        if (onlyType && onlyType !== r.type) continue;
        for (const validate of validations) {
          const props = policy.unknownCheckingProxy(markUnknowns({ ...r.inputs }));
          const provider = providerOf(r);
          const args: ResourceValidationArgs = {
            type: r.type,
            props,
            urn: r.urn,
            name: r.name,
            opts: optionsOf(r),
            stackTags,
            isType: ((cls: unknown) => isTypeOf(r.type, cls)) as ResourceValidationArgs["isType"],
            asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as ResourceValidationArgs["asType"],
            getConfig,
            notApplicable,
            ...(provider ? { provider } : {}),
          };
          await guarded(rule.name, () => validate(args, (message: string) => push(r.urn, message)), onUnknown(r.urn));
        }
      }
    }

    if ("validateStack" in rule && rule.validateStack) {
      const onlyType = (rule.validateStack as { __pulumiType?: string }).__pulumiType;
      if (onlyType && !resources.some((r) => r.type === onlyType)) continue;
      const args: StackValidationArgs = { resources: toPolicyResources(resources, providerOf), getConfig, stackTags, notApplicable };
      await guarded(rule.name, () => rule.validateStack(args, (message: string, urn?: string) => push(urn ?? "stack", message)), onUnknown("stack"));
    }
  }
  return violations;
}

async function guarded(name: string, run: () => unknown, reportUnknown: (err: Error) => void): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (err instanceof NotApplicable) return;
    if (err instanceof policy.UnknownValueError) {
      reportUnknown(err as Error);
      return;
    }
    throw new Error(`Error validating resource with policy '${name}': ${(err as Error).stack ?? err}`);
  }
}

/** Stack policies see outputs (with the id bridged providers report), parent, dependencies and property dependencies. */
function toPolicyResources(resources: DeclaredResource[], providerOf: (r: DeclaredResource) => PolicyProviderResource | undefined): PolicyResource[] {
  const byUrn = new Map<string, PolicyResource>();
  for (const r of resources) {
    const props = policy.unknownCheckingProxy(markUnknowns({ ...r.state, ...(r.custom && r.id ? { id: r.id } : {}) }));
    const provider = providerOf(r);
    byUrn.set(r.urn, {
      type: r.type,
      props,
      urn: r.urn,
      name: r.name,
      opts: optionsOf(r),
      dependencies: [],
      propertyDependencies: {},
      isType: ((cls: unknown) => isTypeOf(r.type, cls)) as PolicyResource["isType"],
      asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as PolicyResource["asType"],
      ...(provider ? { provider } : {}),
    });
  }
  for (const r of resources) {
    const resource = byUrn.get(r.urn)!;
    if (r.parent && byUrn.has(r.parent)) resource.parent = byUrn.get(r.parent);
    resource.dependencies = r.dependencies.map((u) => byUrn.get(u)).filter((x): x is PolicyResource => Boolean(x));
    for (const [key, urns] of Object.entries(r.propertyDependencies ?? {})) {
      resource.propertyDependencies[key] = urns.map((u) => byUrn.get(u)).filter((x): x is PolicyResource => Boolean(x));
    }
  }
  return [...byUrn.values()];
}
