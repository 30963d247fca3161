import type { Tags } from "../contracts";

/** GCP label keys and values: lower case letters, digits, `_` and `-`, at most 63 characters; keys start with a letter. */
const MAX = 63;

function clean(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, "_")
    .slice(0, MAX);
}

/**
 * The stack's tags as GCP labels (GKE resource labels, Cloud SQL user labels, bucket and key labels):
 * keys and values lower-cased, every other character replaced by `_`, cut to 63 characters; a key
 * that does not start with a letter gets the prefix `l_`. Two tags that collide once normalised are
 * refused, rather than one silently overwriting the other.
 */
export function gcpLabels(tags: Tags): Record<string, string> {
  const labels: Record<string, string> = {};
  const origin: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags)) {
    let k = clean(key);
    if (!/^[a-z]/.test(k)) k = `l_${k}`.slice(0, MAX);
    if (k in labels) throw new Error(`tags "${origin[k]}" and "${key}" both become the GCP label key "${k}"`);
    labels[k] = clean(value);
    origin[k] = key;
  }
  return labels;
}
