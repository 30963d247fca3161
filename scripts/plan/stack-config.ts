import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

export interface StackConfig {
  project: string;
  stack: string;
  /** Flat `namespace:key` -> string map, as the Pulumi engine hands config to a program (objects as JSON). */
  config: Record<string, string>;
  secretKeys: string[];
}

/**
 * Reads the project's `Pulumi.yaml` (project-level `value`s) and `Pulumi.<stack>.yaml` the way the
 * Pulumi CLI does: stack values win over project values; structured values become JSON strings;
 * `secure:` values are secrets this offline run cannot decrypt, so they become a placeholder.
 */
export function readStackConfig(stack: string, root = PROJECT_ROOT): StackConfig {
  const projectFile = path.join(root, "Pulumi.yaml");
  const project = parse(readFileSync(projectFile, "utf8")) as { name: string; config?: Record<string, { value?: unknown }> };
  const stackFile = path.join(root, `Pulumi.${stack}.yaml`);
  if (!existsSync(stackFile)) {
    const known = listStacks(root).join(", ") || "none";
    throw new Error(`no stack "${stack}": ${path.basename(stackFile)} does not exist (stacks of this project: ${known})`);
  }
  const stackDoc = (parse(readFileSync(stackFile, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, decl] of Object.entries(project.config ?? {})) {
    if (decl && typeof decl === "object" && "value" in decl) config[key] = toConfigString(decl.value);
  }
  for (const [key, value] of Object.entries(stackDoc.config ?? {})) {
    if (value && typeof value === "object" && "secure" in (value as object)) {
      config[key] = OFFLINE_SECRET;
      secretKeys.push(key);
      continue;
    }
    // Structured config with `secure:` values inside (`pulumi config set --secret --path`): the engine
    // hands the whole key over as a secret, each secure value decrypted in place.
    if (hasSecure(value)) {
      config[key] = toConfigString(withoutSecure(value));
      secretKeys.push(key);
      continue;
    }
    config[key] = toConfigString(value);
  }
  return { project: project.name, stack, config, secretKeys };
}

export function listStacks(root = PROJECT_ROOT): string[] {
  return readdirSync(root)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => Boolean(s))
    .sort();
}

const OFFLINE_SECRET = "offline-placeholder-secret";
const isSecure = (v: unknown): boolean => Boolean(v) && typeof v === "object" && !Array.isArray(v) && "secure" in (v as object);
const hasSecure = (v: unknown): boolean => isSecure(v) || (Boolean(v) && typeof v === "object" && Object.values(v as object).some(hasSecure));
function withoutSecure(v: unknown): unknown {
  if (isSecure(v)) return OFFLINE_SECRET;
  if (Array.isArray(v)) return v.map(withoutSecure);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withoutSecure(x)]));
  return v;
}

function toConfigString(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}
