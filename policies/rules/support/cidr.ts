/** IPv4 and IPv6 CIDR blocks as numbers, for "is this block inside the allow-list" questions. */
export interface Cidr {
  version: 4 | 6;
  network: bigint;
  bits: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const [address, prefix] = text.trim().split("/");
  const v4 = parseIpv4(address);
  const version = v4 !== undefined ? 4 : 6;
  const value = v4 ?? parseIpv6(address);
  if (value === undefined) return undefined;
  const width = version === 4 ? 32 : 128;
  const bits = prefix === undefined ? width : Number(prefix);
  if (!Number.isInteger(bits) || bits < 0 || bits > width) return undefined;
  const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
  return { version, network: value & mask, bits };
}

/** True when `inner` lies entirely inside `outer`. */
export function contains(outer: Cidr, inner: Cidr): boolean {
  if (outer.version !== inner.version || inner.bits < outer.bits) return false;
  const width = outer.version === 4 ? 32 : 128;
  const mask = outer.bits === 0 ? 0n : ((1n << BigInt(outer.bits)) - 1n) << BigInt(width - outer.bits);
  return (inner.network & mask) === outer.network;
}

/** 0.0.0.0/0, ::/0 and their spellings: the whole internet. */
export function isAnyAddress(text: string): boolean {
  const cidr = parseCidr(text);
  return cidr !== undefined && cidr.bits === 0;
}

/** The CIDRs of `cidrs` not inside any block of `allowList` (unparseable entries count as outside). */
export function outside(cidrs: string[], allowList: string[]): string[] {
  const allowed = allowList.map(parseCidr).filter((c): c is Cidr => c !== undefined);
  return cidrs.filter((c) => {
    const parsed = parseCidr(c);
    return !parsed || !allowed.some((a) => contains(a, parsed));
  });
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((acc, p) => (acc << 8n) + BigInt(Number(p)), 0n);
}

function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:]+$/.test(text) || text.split("::").length > 2) return undefined;
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const groups = [...headGroups, ...Array(tail === undefined ? 0 : missing).fill("0"), ...tailGroups];
  if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g, 16)), 0n);
}
