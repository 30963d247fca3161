/**
 * The MLflow registry's model URIs, `models:/<name>@<alias>` or `models:/<name>/<version>`: the one
 * definition of their grammar in the stack program (infra/ and components/). The stack config
 * validates every `models:/` value with it, and the workloads receive only what it accepted.
 *
 * Other package boundaries keep their own copy on purpose: the services parse it in services/common
 * (they run from their own images), and the policy pack (policies/rules/ml/registry-models-only.ts)
 * imports nothing of the program. The name excludes whitespace, as the policy pack does: a URI the
 * pack would refuse is refused here first.
 */
export type ModelUri = { name: string; alias: string; version?: undefined } | { name: string; version: number; alias?: undefined };

const GRAMMAR = /^models:\/([^/@\s]+)(?:@([A-Za-z0-9_-]+)|\/(\d+))$/;

/** What a registry URI looks like, for messages. */
export const MODEL_URI_EXPECTED = "a registry URI models:/<name>@<alias> or models:/<name>/<version>";

/** The registered model and the alias or version a URI names; undefined when it is not a registry URI. */
export function parseModelUri(uri: string): ModelUri | undefined {
  const m = GRAMMAR.exec(uri);
  if (!m) return undefined;
  return m[2] !== undefined ? { name: m[1], alias: m[2] } : { name: m[1], version: Number(m[3]) };
}

/** Whether a value means to be a registry URI (a reference profile may also be a file path). */
export function isRegistryScheme(value: string): boolean {
  return value.startsWith("models:");
}
