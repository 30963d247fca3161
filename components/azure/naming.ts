import { createHash } from "node:crypto";

/**
 * Names Azure requires to be globally unique and alphanumeric (storage accounts, container registries,
 * key vaults). Derived from an explicit seed (the caller passes e.g. `<subscription id>/<stack>`), so
 * the name is a plain string known at plan time and stable across runs: no random suffix, no lookup.
 */
export function globalName(prefix: string, seed: string, maxLength: number): string {
  const hash = createHash("sha256").update(seed).digest("hex").slice(0, 8);
  const base = prefix.toLowerCase().replace(/[^a-z0-9]/g, "");
  if (!/^[a-z]/.test(base)) throw new Error(`global name prefix "${prefix}" must start with a letter`);
  return `${base.slice(0, maxLength - hash.length)}${hash}`;
}

/** Storage account: 3-24 lowercase letters and digits. */
export const storageAccountName = (prefix: string, seed: string) => globalName(`${prefix}art`, seed, 24);
/** Container registry: 5-50 letters and digits. */
export const registryName = (prefix: string, seed: string) => globalName(`${prefix}acr`, seed, 50);
/** Key vault: 3-24 letters, digits and hyphens; letters and digits here. */
export const keyVaultName = (prefix: string, seed: string, suffix = "kv") => globalName(`${prefix}${suffix}`, seed, 24);
