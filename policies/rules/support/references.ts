import type { PolicyResource } from "@pulumi/policy";
import { peek } from "./define";
import { tokenOf, type TypeRef } from "./types";

/**
 * Whether `from.props[property]` points at `target`. First through the engine's property
 * dependencies (they hold even during preview, when the target's id or name is still unknown),
 * then, for a literal reference with no dependency recorded, by comparing the value with the
 * target's identifying outputs (id, name, arn, bucket...).
 */
export function refersTo(from: PolicyResource, property: string, target: PolicyResource, identifiers: string[] = ["id", "name", "arn"]): boolean {
  const deps = from.propertyDependencies?.[property];
  if (deps && deps.length > 0) return deps.some((d) => d.urn === target.urn);
  const value = peek(() => from.props[property]);
  if (value === undefined || value === null) return false;
  const values = (Array.isArray(value) ? value : [value]).map((v) => peek(() => String(v)));
  const ids = identifiers.map((key) => peek(() => target.props[key])).filter((v): v is string | number => v !== undefined && v !== null && v !== "");
  return values.some((v) => v !== undefined && ids.some((id) => String(id) === v));
}

export function ofTypes(resources: PolicyResource[], ...types: TypeRef[]): PolicyResource[] {
  const tokens = types.map(tokenOf);
  return resources.filter((r) => tokens.includes(r.type));
}

/** The resources of the given types whose `property` points at `target` (a bucket's versioning, a server's settings). */
export function referencing(resources: PolicyResource[], types: TypeRef[], property: string, target: PolicyResource, identifiers?: string[]): PolicyResource[] {
  return ofTypes(resources, ...types).filter((r) => refersTo(r, property, target, identifiers));
}

/** The resources of the given types that `from.props[property]` points at (list properties such as subnetIds included). */
export function referencedBy(resources: PolicyResource[], from: PolicyResource, property: string, types: TypeRef[], identifiers?: string[]): PolicyResource[] {
  return ofTypes(resources, ...types).filter((r) => refersTo(from, property, r, identifiers));
}
