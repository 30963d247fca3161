import type { DeclaredResource } from "./harness";

/** Renders the resource tree (children indented under their parent component) and counts per type. */
export function renderTree(resources: DeclaredResource[]): string {
  const children = new Map<string | undefined, DeclaredResource[]>();
  const urns = new Set(resources.map((r) => r.urn));
  for (const r of resources) {
    const parent = r.parent && urns.has(r.parent) ? r.parent : undefined;
    children.set(parent, [...(children.get(parent) ?? []), r]);
  }
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number) => {
    for (const r of children.get(parent) ?? []) {
      lines.push(`${"  ".repeat(depth)}${r.type}  ${r.name}`);
      walk(r.urn, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines.join("\n");
}

export function countByType(resources: DeclaredResource[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}
