import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { recommendedLabels } from "./labels";

/** One end of a flow: pods of a namespace, every pod of labelled namespaces, or anywhere (outside the cluster included). */
export type Peer =
  | { kind: "pods"; name: string; namespace: string; selector: Record<string, string> }
  | { kind: "namespaces"; name: string; selector: Record<string, string> }
  | { kind: "anywhere"; name: string };

export interface Port {
  port: number;
  protocol?: "TCP" | "UDP";
}

/** A connection the platform needs: `from` may open it to `to` on `ports` (all ports when omitted). */
export interface Flow {
  from: Peer;
  to: Peer;
  ports?: Port[];
  why: string;
}

type NetworkPolicySpec = k8s.types.input.networking.v1.NetworkPolicySpec;
type PolicyPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;

export interface NetworkPoliciesArgs {
  namespace: pulumi.Input<string>;
  namespaceName: string;
  flows: Flow[];
}

/**
 * A default-deny policy for the namespace plus, per selected group of its pods, one policy with
 * exactly the ingress and egress of the flows that start or end there. Nothing else is allowed:
 * a flow missing here is a connection refused in the cluster.
 */
export class NetworkPolicies extends pulumi.ComponentResource {
  readonly policies: k8s.networking.v1.NetworkPolicy[] = [];

  constructor(name: string, args: NetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:kubernetes:NetworkPolicies", name, {}, opts);
    const labels = recommendedLabels({ name: "network-policy", instance: args.namespaceName, component: "network-policy" });
    const make = (policyName: string, spec: NetworkPolicySpec) =>
      new k8s.networking.v1.NetworkPolicy(
        `${args.namespaceName}-${policyName}`,
        { metadata: { name: policyName, namespace: args.namespace, labels }, spec },
        { parent: this },
      );

    this.policies.push(make("default-deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] }));
    for (const [policyName, spec] of Object.entries(policySpecs(args.namespaceName, args.flows))) {
      this.policies.push(make(policyName, spec));
    }
    this.registerOutputs({});
  }
}

/** The allow policies of one namespace, keyed by policy name: a pure function of the flows. */
export function policySpecs(namespace: string, flows: Flow[]): Record<string, NetworkPolicySpec> {
  const groups = new Map<string, { name: string; selector: Record<string, string>; ingress: any[]; egress: any[] }>();
  const group = (peer: Extract<Peer, { kind: "pods" }>) => {
    const key = JSON.stringify(Object.entries(peer.selector).sort());
    let g = groups.get(key);
    if (!g) {
      g = { name: `allow-${peer.name}`, selector: peer.selector, ingress: [], egress: [] };
      groups.set(key, g);
    } else if (g.name !== `allow-${peer.name}`) {
      throw new Error(`network flows: peers "${g.name.slice(6)}" and "${peer.name}" select the same pods; give them one name`);
    }
    return g;
  };
  for (const flow of flows) {
    const ports = flow.ports?.map((p) => ({ port: p.port, protocol: p.protocol ?? "TCP" }));
    if (flow.to.kind === "pods" && flow.to.namespace === namespace) {
      const from = toPolicyPeer(flow.from);
      group(flow.to).ingress.push({ ...(from ? { from: [from] } : {}), ...(ports ? { ports } : {}) });
    }
    if (flow.from.kind === "pods" && flow.from.namespace === namespace) {
      const to = toPolicyPeer(flow.to);
      group(flow.from).egress.push({ ...(to ? { to: [to] } : {}), ...(ports ? { ports } : {}) });
    }
  }
  const specs: Record<string, NetworkPolicySpec> = {};
  for (const g of groups.values()) {
    const policyTypes = [...(g.ingress.length ? ["Ingress"] : []), ...(g.egress.length ? ["Egress"] : [])];
    specs[g.name] = {
      podSelector: { matchLabels: g.selector },
      policyTypes,
      ...(g.ingress.length ? { ingress: g.ingress } : {}),
      ...(g.egress.length ? { egress: g.egress } : {}),
    };
  }
  return specs;
}

/** `undefined` means "any peer" (a rule without from/to). */
function toPolicyPeer(peer: Peer): PolicyPeer | undefined {
  switch (peer.kind) {
    case "anywhere":
      return undefined;
    case "namespaces":
      return { namespaceSelector: { matchLabels: peer.selector } };
    case "pods":
      return {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": peer.namespace } },
        podSelector: { matchLabels: peer.selector },
      };
  }
}
