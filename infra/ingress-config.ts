import { z } from "zod";
import type { AcmeIssuer, TlsIssuer } from "../components/kubernetes/cert-manager";
import type { PlatformIngressSettings } from "../components/kubernetes/ingress";
import { cidr } from "./config-fields";

/**
 * `mlops:ingress`: the platform's public entry point, the same keys on every target. An endpoint is
 * exposed when it has a host name; TLS is always on (there is no plain-HTTP option): from Let's
 * Encrypt through ACME DNS-01 when a DNS zone is configured, else from the platform's private CA.
 */
const hostname = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, "expected a lower-case DNS name such as mlflow.ml.example.com");

export const INGRESS_ISSUERS = ["letsencrypt", "letsencrypt-staging", "self-signed"] as const;
export type IngressIssuer = (typeof INGRESS_ISSUERS)[number];

export const ingressSchema = z
  .object({
    /** An internet-facing load balancer; default false: internal to the cloud network (VPN, peering). Ignored on a local cluster. */
    public: z.boolean().default(false),
    /** Client ranges the load balancer admits; empty: any address. */
    sourceCidrs: z.array(cidr).default([]),
    /** One host name per exposed endpoint; an endpoint without one is not exposed. */
    hosts: z
      .object({
        mlflow: hostname.optional(),
        grafana: hostname.optional(),
        /** The platform API (services/api): the front door for people and applications. */
        api: hostname.optional(),
        /** Per served model (its name in mlops:models): the inference API. */
        serving: z.record(z.string(), hostname).default({}),
      })
      .strict(),
    tls: z
      .object({
        /** Default: letsencrypt with a dnsZone, self-signed (the platform's private CA) without. */
        issuer: z.enum(INGRESS_ISSUERS).optional(),
        /** Let's Encrypt's contact for expiry and account notices (required by letsencrypt*). */
        email: z.string().regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, "expected an e-mail address").optional(),
      })
      .strict()
      .optional(),
    /** The DNS zone cert-manager answers ACME DNS-01 challenges in: its name and the cloud's id of it. */
    dnsZone: z
      .object({
        name: hostname,
        /** AWS: the Route53 hosted zone id; GCP: the Cloud DNS managed zone's name (in gcp:project); Azure: the DNS zone's resource id. */
        id: z.string().min(1),
      })
      .strict()
      .optional(),
  })
  .strict();

export type IngressConfig = z.infer<typeof ingressSchema>;

/** The issuer a config ends with. */
export function ingressIssuer(ingress: IngressConfig): IngressIssuer {
  return ingress.tls?.issuer ?? (ingress.dnsZone ? "letsencrypt" : "self-signed");
}

const ZONE_ID: Record<string, { pattern: RegExp; expected: string }> = {
  aws: { pattern: /^Z[A-Z0-9]{1,32}$/, expected: "a Route53 hosted zone id such as Z0123456789ABCDEFGHIJ" },
  gcp: { pattern: /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, expected: "the Cloud DNS managed zone's name (in gcp:project), such as ml-example-com" },
  azure: {
    pattern: /^\/subscriptions\/[0-9a-fA-F-]{36}\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/dnszones\/[^/]+$/i,
    expected: "the DNS zone's resource id, /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/dnszones/<zone>",
  },
};

const inZone = (host: string, zone: string) => host === zone || host.endsWith(`.${zone}`);

/**
 * What the neutral schema alone cannot check: served models, the cloud's zone id, hosts inside the
 * zone, Let's Encrypt's e-mail, and prod's rule that its certificates are ones clients can verify.
 */
export function ingressIssues(c: { environment: string; cloud: string; models: { name: string }[]; ingress?: IngressConfig }): { path: (string | number)[]; message: string }[] {
  const ingress = c.ingress;
  if (!ingress) return [];
  const issues: { path: (string | number)[]; message: string }[] = [];
  const at = (...path: (string | number)[]) => ["ingress", ...path];
  const hosts = [ingress.hosts.mlflow, ingress.hosts.grafana, ingress.hosts.api, ...Object.values(ingress.hosts.serving)].filter((h): h is string => Boolean(h));
  if (!hosts.length) issues.push({ path: at("hosts"), message: "name at least one endpoint's host (mlflow, grafana, api, serving.<model>), or leave mlops:ingress out" });
  const seen = new Set<string>();
  for (const h of hosts) {
    if (seen.has(h)) issues.push({ path: at("hosts"), message: `host "${h}" is given to two endpoints; each endpoint has its own` });
    seen.add(h);
  }
  const models = new Set(c.models.map((m) => m.name));
  for (const model of Object.keys(ingress.hosts.serving)) {
    if (!models.has(model)) issues.push({ path: at("hosts", "serving", model), message: `"${model}" is not a model of mlops:models (${[...models].join(", ") || "none"})` });
  }
  const issuer = ingressIssuer(ingress);
  if (issuer !== "self-signed") {
    if (!ingress.dnsZone) issues.push({ path: at("tls", "issuer"), message: `${issuer} answers ACME DNS-01 challenges: configure mlops:ingress.dnsZone, or use self-signed` });
    if (!ingress.tls?.email) issues.push({ path: at("tls", "email"), message: `${issuer} needs a contact e-mail for expiry notices` });
    for (const h of ingress.dnsZone ? hosts.filter((x) => !inZone(x, ingress.dnsZone!.name)) : []) {
      issues.push({ path: at("hosts"), message: `"${h}" is outside the DNS zone ${ingress.dnsZone!.name}: cert-manager can only prove names in it` });
    }
  }
  if (c.environment === "prod" && issuer === "letsencrypt-staging") {
    issues.push({ path: at("tls", "issuer"), message: "letsencrypt-staging certificates are not trusted by any client: prod serves only TLS clients can verify (letsencrypt, or self-signed with the private CA distributed)" });
  }
  if (ingress.dnsZone) {
    const rule = ZONE_ID[c.cloud];
    if (!rule) issues.push({ path: at("dnsZone"), message: `a ${c.cloud} cluster has no cloud DNS: leave dnsZone out (certificates from the private CA)` });
    else if (!rule.pattern.test(ingress.dnsZone.id)) issues.push({ path: at("dnsZone", "id"), message: `expected ${rule.expected}` });
    else if (c.cloud === "azure" && !ingress.dnsZone.id.toLowerCase().endsWith(`/dnszones/${ingress.dnsZone.name}`)) {
      issues.push({ path: at("dnsZone", "id"), message: `the resource id names another zone than ${ingress.dnsZone.name}` });
    }
  }
  return issues;
}

/** The zone a cloud foundation gives cert-manager an identity for: only when the issuer is ACME. */
export function dns01Zone(ingress: IngressConfig | undefined): { name: string; id: string } | undefined {
  return ingress?.dnsZone && ingressIssuer(ingress) !== "self-signed" ? ingress.dnsZone : undefined;
}

/** Controller sizes: HSTS of a year in prod, a day in dev (a mistake there expires quickly). */
const CONTROLLER = {
  dev: { replicas: 1, hstsMaxAgeSeconds: 86400 },
  prod: { replicas: 2, hstsMaxAgeSeconds: 31536000 },
} as const;
const CONTROLLER_RESOURCES = { cpuRequest: "100m", memoryRequest: "128Mi", cpuLimit: "1", memoryLimit: "512Mi" };
const CERT_MANAGER_RESOURCES = { cpuRequest: "20m", memoryRequest: "64Mi", cpuLimit: "500m", memoryLimit: "256Mi" };

/** The Platform's ingress settings from the stack's config: every value decided. prod: no plain-HTTP listener. */
export function ingressSettings(environment: "dev" | "prod", cloud: string, ingress: IngressConfig | undefined): PlatformIngressSettings | undefined {
  if (!ingress) return undefined;
  const issuer = ingressIssuer(ingress);
  const tls: TlsIssuer = issuer === "self-signed" ? { kind: "self-signed" } : { kind: "acme", server: issuer as AcmeIssuer, email: ingress.tls!.email! };
  return {
    public: cloud !== "local" && ingress.public,
    sourceCidrs: ingress.sourceCidrs,
    hosts: {
      ...(ingress.hosts.mlflow ? { mlflow: ingress.hosts.mlflow } : {}),
      ...(ingress.hosts.grafana ? { grafana: ingress.hosts.grafana } : {}),
      ...(ingress.hosts.api ? { api: ingress.hosts.api } : {}),
      serving: ingress.hosts.serving,
    },
    tls,
    plainHttp: environment === "prod" ? "off" : "redirect",
    hstsMaxAgeSeconds: CONTROLLER[environment].hstsMaxAgeSeconds,
    replicas: CONTROLLER[environment].replicas,
    resources: CONTROLLER_RESOURCES,
    certManagerResources: CERT_MANAGER_RESOURCES,
  };
}
