import type { IngressSupport } from "../contracts";

/**
 * The ingress controller on kind: the node's ports 80/443 (hostPort), which the cluster maps to the
 * machine's (`extraPortMappings`), on the node labelled `ingress-ready=true`, the control plane of a
 * one-node cluster (kind's documented set-up: components/local/kind-ingress.yaml). No load balancer,
 * no DNS zone: certificates come from the platform's private CA.
 */
export const KIND_INGRESS: IngressSupport = {
  exposure: "hostPort",
  serviceAnnotations: { public: {}, internal: {} },
  nodeSelector: { "ingress-ready": "true" },
  tolerations: [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" }],
};
