/** Walks Helm values (any JSON) and calls `visit` for every object with its dotted path. */
export function walkValues(values: unknown, visit: (object: Record<string, any>, path: string) => void, path = ""): void {
  if (Array.isArray(values)) {
    values.forEach((v, i) => walkValues(v, visit, `${path}[${i}]`));
    return;
  }
  if (!values || typeof values !== "object") return;
  const object = values as Record<string, any>;
  visit(object, path);
  for (const [key, value] of Object.entries(object)) walkValues(value, visit, path ? `${path}.${key}` : key);
}
