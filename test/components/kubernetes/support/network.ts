/**
 * An evaluator of Kubernetes NetworkPolicy semantics (networking.k8s.io/v1), independent of the
 * code that writes the policies: given the rendered policies, the namespaces and the pods, which
 * connections (source, destination, port, protocol) are allowed. A connection between pods needs
 * the source's egress AND the destination's ingress; a pod no policy selects (for a direction) is
 * not isolated in that direction. Destinations outside the cluster only need the egress side.
 */
export interface Endpoint {
  id: string;
  /** Absent for an address outside the cluster. */
  namespace?: string;
  labels: Record<string, string>;
  /** Ports something listens on (a connection needs a listener); every port when absent. */
  listens?: number[];
}

export interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

interface PolicyPeer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface PolicyPort {
  port?: number | string;
  endPort?: number;
  protocol?: string;
}
interface Rule {
  from?: PolicyPeer[];
  to?: PolicyPeer[];
  ports?: PolicyPort[];
}
export interface Policy {
  metadata: { name: string; namespace?: string };
  spec: { podSelector: Selector; policyTypes?: string[]; ingress?: Rule[]; egress?: Rule[] };
}

export function selects(selector: Selector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    const inValues = has && (e.values ?? []).includes(labels[e.key]);
    if (e.operator === "In" && !inValues) return false;
    if (e.operator === "NotIn" && inValues) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

export class Cluster {
  constructor(
    private readonly policies: Policy[],
    /** Namespace name -> labels (kubernetes.io/metadata.name is added, as the API server does). */
    private readonly namespaces: Record<string, Record<string, string>>,
  ) {
    for (const p of policies) {
      for (const rule of [...(p.spec.ingress ?? []), ...(p.spec.egress ?? [])]) {
        for (const port of rule.ports ?? []) {
          if (typeof port.port !== "number" || port.endPort !== undefined) throw new Error(`policy ${p.metadata.name}: this evaluator handles numeric single ports only`);
        }
      }
    }
  }

  private nsLabels(ns: string): Record<string, string> {
    return { ...(this.namespaces[ns] ?? {}), "kubernetes.io/metadata.name": ns };
  }

  private policyTypes(p: Policy): string[] {
    return p.spec.policyTypes ?? ["Ingress", ...(p.spec.egress ? ["Egress"] : [])];
  }

  private peerMatches(peer: PolicyPeer, policyNamespace: string, other: Endpoint): boolean {
    if (peer.ipBlock) {
      // Only whole-internet blocks are used by the platform; pod addresses are not modelled.
      return other.namespace === undefined && peer.ipBlock.cidr === "0.0.0.0/0" && !(peer.ipBlock.except ?? []).length;
    }
    if (other.namespace === undefined) return false;
    if (peer.namespaceSelector) {
      if (!selects(peer.namespaceSelector, this.nsLabels(other.namespace))) return false;
    } else if (other.namespace !== policyNamespace) {
      return false;
    }
    return selects(peer.podSelector, other.labels);
  }

  private ruleAllows(rule: Rule, peers: PolicyPeer[] | undefined, policyNamespace: string, other: Endpoint, port: number, protocol: string): boolean {
    const portOk = !rule.ports?.length || rule.ports.some((p) => (p.port === undefined || p.port === port) && (p.protocol ?? "TCP") === protocol);
    const peerOk = !peers?.length || peers.some((peer) => this.peerMatches(peer, policyNamespace, other));
    return portOk && peerOk;
  }

  private direction(subject: Endpoint, other: Endpoint, port: number, protocol: string, type: "Ingress" | "Egress"): boolean {
    if (subject.namespace === undefined) return true; // outside the cluster: no policy applies
    const applicable = this.policies.filter((p) => (p.metadata.namespace ?? "default") === subject.namespace && this.policyTypes(p).includes(type) && selects(p.spec.podSelector, subject.labels));
    if (!applicable.length) return true;
    return applicable.some((p) =>
      (type === "Ingress" ? p.spec.ingress : p.spec.egress)?.some((rule) => this.ruleAllows(rule, type === "Ingress" ? rule.from : rule.to, subject.namespace!, other, port, protocol)),
    );
  }

  allowed(from: Endpoint, to: Endpoint, port: number, protocol = "TCP"): boolean {
    return this.direction(from, to, port, protocol, "Egress") && this.direction(to, from, port, protocol, "Ingress");
  }

  /** Every allowed `from -> to:port/protocol` among the endpoints, for the given ports. */
  allowedFlows(endpoints: Endpoint[], ports: { port: number; protocol: string }[]): string[] {
    const out: string[] = [];
    for (const from of endpoints) {
      for (const to of endpoints) {
        if (from.id === to.id) continue;
        for (const p of ports) if ((!to.listens || to.listens.includes(p.port)) && this.allowed(from, to, p.port, p.protocol)) out.push(`${from.id} -> ${to.id}:${p.port}/${p.protocol}`);
      }
    }
    return out.sort();
  }
}

/** Every port named in the policies, plus `extra`. */
export function policyPorts(policies: Policy[], extra: number[] = []): { port: number; protocol: string }[] {
  const seen = new Map<string, { port: number; protocol: string }>();
  const add = (port: number, protocol: string) => seen.set(`${port}/${protocol}`, { port, protocol });
  for (const p of policies) for (const r of [...(p.spec.ingress ?? []), ...(p.spec.egress ?? [])]) for (const port of r.ports ?? []) add(port.port as number, port.protocol ?? "TCP");
  for (const port of extra) add(port, "TCP");
  return [...seen.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}
