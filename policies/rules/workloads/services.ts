import { walkValues } from "../support/helm";

/** The annotations that make a LoadBalancer Service internal, per cloud (and the legacy spellings). */
export const INTERNAL_LB_ANNOTATIONS: Record<string, string[]> = {
  "service.beta.kubernetes.io/aws-load-balancer-scheme": ["internal"],
  "service.beta.kubernetes.io/aws-load-balancer-internal": ["true", "0.0.0.0/0"],
  "networking.gke.io/load-balancer-type": ["internal"],
  "cloud.google.com/load-balancer-type": ["internal"],
  "service.beta.kubernetes.io/azure-load-balancer-internal": ["true"],
};

export function isInternal(annotations: Record<string, string> | undefined): boolean {
  return Object.entries(INTERNAL_LB_ANNOTATIONS).some(([key, values]) => values.includes(String(annotations?.[key] ?? "").toLowerCase()));
}

/**
 * The annotation a reviewed public entry point (the platform's ingress controller) carries, with the
 * reason: `workloads-no-public-load-balancer` admits it, `endpoints-tls-and-hostname` holds it to TLS
 * and host names.
 */
export const PUBLIC_ENTRY_POINT_ANNOTATION = "mlops.io/public-entry-point";

export function isPublicEntryPoint(annotations: Record<string, string> | undefined): boolean {
  return String(annotations?.[PUBLIC_ENTRY_POINT_ANNOTATION] ?? "").trim().length > 0;
}

/** Service definitions inside Helm values (`service: {type: LoadBalancer, annotations}`), with their path. */
export function servicesInValues(values: unknown): { path: string; type: string; annotations?: Record<string, string> }[] {
  const found: { path: string; type: string; annotations?: Record<string, string> }[] = [];
  walkValues(values, (object, path) => {
    if (object.type === "LoadBalancer" || object.type === "NodePort") found.push({ path, type: object.type, annotations: object.annotations });
  });
  return found;
}
