import { z } from "zod";

/**
 * Field schemas more than one part of the stack config uses: the neutral keys (infra/config.ts) and each
 * cloud's own keys (infra/clouds/*). One definition each, so a CIDR or a version means the same everywhere.
 */

export const cidr = z.string().refine(isCidr, { message: "expected an IPv4 CIDR block such as 10.0.0.0/16" });

/** Minor versions the managed clusters (EKS, GKE, AKS) currently support; kind images exist for each. */
export const kubernetesVersion = z.enum(["1.31", "1.32", "1.33", "1.34"]).default("1.33");

/** PostgreSQL major version. YAML reads `engineVersion: 16` as a number: take it as the version it spells. */
export const postgresVersion = z.preprocess((v) => (typeof v === "number" ? String(v) : v), z.enum(["15", "16", "17"])).default("16");
export type PostgresVersion = "15" | "16" | "17";

/** Who may reach the API server's public endpoint (EKS public access CIDRs, GKE authorized networks, AKS authorized IP ranges). */
export const publicAccessCidrs = z.array(cidr);

export const nodeCount = z
  .object({ min: z.number().int().min(1), max: z.number().int().min(1) })
  .strict()
  .refine((n) => n.min <= n.max, { message: "expected min <= max" });

export const backupRetentionDays = z.number().int().min(1).max(35);

type Issue = { path: (string | number)[]; message: string };

/** The rules every cloud applies to its own keys in prod: no API server open to the internet, two weeks of backups. */
export function prodRules(environment: unknown, settings: { cluster: { publicAccessCidrs?: string[] }; database: { backupRetentionDays?: number } }): Issue[] {
  if (environment !== "prod") return [];
  const issues: Issue[] = [];
  if ((settings.cluster.publicAccessCidrs ?? []).some((x) => x.endsWith("/0"))) {
    issues.push({ path: ["cluster", "publicAccessCidrs"], message: "0.0.0.0/0 is not allowed in prod: list the CIDRs of your offices or VPN" });
  }
  if (settings.database.backupRetentionDays !== undefined && settings.database.backupRetentionDays < 14) {
    issues.push({ path: ["database", "backupRetentionDays"], message: "prod keeps database backups at least 14 days" });
  }
  return issues;
}

export function prefixLength(block: string): number {
  return Number(block.split("/")[1]);
}

export function isCidr(value: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return false;
  // Host bits must be zero, or the block is ambiguous (10.0.0.1/16).
  const addr = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (addr & mask) >>> 0 === addr;
}

/** Block `index` of size /`newPrefix` carved from `block` (10.40.0.0/16, 24, 16 -> 10.40.16.0/24). */
export function subnetOf(block: string, newPrefix: number, index: number): string {
  const [base, bits] = block.split("/");
  if (newPrefix < Number(bits) || index >= 2 ** (newPrefix - Number(bits))) throw new Error(`${block} has no /${newPrefix} number ${index}`);
  const o = base.split(".").map(Number);
  const addr = (((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0) + index * 2 ** (32 - newPrefix);
  return `${[24, 16, 8, 0].map((s) => (addr >>> s) & 255).join(".")}/${newPrefix}`;
}

/** The address `offset` into a block (172.16.0.0/16, 10 -> 172.16.0.10). */
export function addressIn(block: string, offset: number): string {
  const o = block.split("/")[0].split(".").map(Number);
  const addr = (((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0) + offset;
  return [24, 16, 8, 0].map((s) => (addr >>> s) & 255).join(".");
}
