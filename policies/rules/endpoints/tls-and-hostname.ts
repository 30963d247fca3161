import * as k8s from "@pulumi/kubernetes";
import { validateResourceOfType } from "@pulumi/policy";
import { resourceRule } from "../support/define";
import { platform } from "../support/frameworks";
import { walkValues } from "../support/helm";
import { describeObject } from "../support/kubernetes";
import { resourceType } from "../support/types";
import { isInternal } from "../workloads/services";

type Obj = Record<string, any>;

interface Params {
  allowHttpRedirect: boolean;
}

/** Where a public load balancer says which host names it answers for (what external-dns publishes). */
export const HOSTNAME_ANNOTATION = "external-dns.alpha.kubernetes.io/hostname";
const AWS_SSL_CERT = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert";
const AWS_SSL_PORTS = "service.beta.kubernetes.io/aws-load-balancer-ssl-ports";
const INGRESS = resourceType("kubernetes:networking.k8s.io/v1:Ingress");
const RELEASE = resourceType("kubernetes:helm.sh/v3:Release");

/** A TLS host entry covers a rule's host: the same name, or a wildcard for exactly one more label. */
export function tlsCovers(tlsHost: string, host: string): boolean {
  if (tlsHost === host) return true;
  if (!tlsHost.startsWith("*.")) return false;
  const suffix = tlsHost.slice(1);
  return host.endsWith(suffix) && !host.slice(0, -suffix.length).includes(".");
}

const isTrue = (v: unknown) => String(v).toLowerCase() === "true";
const isFalse = (v: unknown) => String(v).toLowerCase() === "false";

function checkIngress(ingress: Obj, label: string, report: (m: string) => void): void {
  const spec = ingress.spec ?? {};
  if (spec.defaultBackend) report(`${label} has a defaultBackend: it answers any host name sent to the load balancer; route by host only`);
  const rules: Obj[] = spec.rules ?? [];
  rules.forEach((rule, i) => {
    if (!rule.host) report(`${label}: spec.rules[${i}] has no host: it answers every name the load balancer receives; give it a host name`);
  });
  const tls: Obj[] = spec.tls ?? [];
  if (!tls.length) {
    report(`${label} has no TLS (spec.tls): its hosts would be served over plain HTTP; add a tls entry with the hosts and a certificate Secret`);
  } else {
    tls.forEach((entry, i) => {
      if (!entry.secretName) report(`${label}: spec.tls[${i}] names no secretName: the controller would serve its default, self-signed certificate`);
    });
    const tlsHosts: string[] = tls.flatMap((entry) => entry.hosts ?? []);
    for (const host of rules.map((r) => r.host).filter(Boolean)) {
      if (!tlsHosts.some((t) => tlsCovers(t, host))) report(`${label}: host "${host}" is not in any spec.tls[].hosts: it would be served without its certificate`);
    }
  }
  const annotations: Obj = ingress.metadata?.annotations ?? {};
  for (const key of ["nginx.ingress.kubernetes.io/ssl-redirect", "nginx.ingress.kubernetes.io/force-ssl-redirect"]) {
    if (isFalse(annotations[key])) report(`${label} sets ${key}: "false": it answers plain HTTP instead of redirecting to HTTPS`);
  }
}

function checkHostname(annotations: Obj | undefined, label: string, report: (m: string) => void): void {
  if (!String(annotations?.[HOSTNAME_ANNOTATION] ?? "").trim()) report(`${label} names no host name: annotate it ${HOSTNAME_ANNOTATION} with the names it serves`);
}

/** A declared public LoadBalancer: TLS on the load balancer (AWS), or only port 443 passed through to a backend that terminates TLS. */
function checkService(service: Obj, label: string, report: (m: string) => void): void {
  const annotations: Obj = service.metadata?.annotations ?? {};
  checkHostname(annotations, label, report);
  const ports: Obj[] = service.spec?.ports ?? [];
  const sslPorts = String(annotations[AWS_SSL_PORTS] ?? "*")
    .split(",")
    .map((p) => p.trim());
  const terminatedByLb = (p: Obj) => Boolean(annotations[AWS_SSL_CERT]) && (sslPorts.includes("*") || sslPorts.includes(String(p.port)) || (p.name && sslPorts.includes(p.name)));
  const plain = ports.filter((p) => !terminatedByLb(p) && Number(p.port) !== 443);
  if (plain.length) report(`${label} listens on ${plain.map((p) => p.port).join(", ")} without TLS: expose only 443 (TLS passed to the backend) or terminate TLS on the load balancer (${AWS_SSL_CERT})`);
}

/**
 * A public LoadBalancer in a chart's values is an ingress controller terminating TLS when its
 * component's configuration says so (ingress-nginx: `controller.config`, `controller.service.enableHttp`):
 * HTTPS on, HSTS not turned off, and plain HTTP either not listened on (`enableHttp: false`) or, where
 * allowed, only redirected (`force-ssl-redirect`).
 */
function checkChartService(service: Obj, component: Obj | undefined, label: string, allowHttpRedirect: boolean, report: (m: string) => void): void {
  checkHostname(service.annotations, label, report);
  const config: Obj | undefined = component?.config;
  if (!config && service.enableHttp === undefined) {
    report(`${label} is a public LoadBalancer that is not an ingress controller terminating TLS: put it behind the platform's ingress, or make it internal`);
    return;
  }
  if (isFalse(service.enableHttps)) report(`${label} has no HTTPS listener (enableHttps: false)`);
  if (isFalse(config?.hsts)) report(`${label}: its controller turns HSTS off (config.hsts: "false")`);
  if (service.enableHttp === false) return;
  const redirects = isTrue(config?.["force-ssl-redirect"]);
  if (!allowHttpRedirect) report(`${label} listens on plain HTTP: set enableHttp: false (no plain-HTTP listener is allowed here${redirects ? ", not even a redirect" : ""})`);
  else if (!redirects) report(`${label} listens on plain HTTP without forcing the redirect to HTTPS: set config.force-ssl-redirect: "true", or enableHttp: false`);
}

export const endpointsTlsAndHostname = resourceRule(
  {
    name: "endpoints-tls-and-hostname",
    description:
      "Every public endpoint has TLS and a host name. An Ingress routes by host only (no host-less rule, no default backend), spec.tls covers every rule's host with a certificate Secret, and its redirect to HTTPS is not turned off. A LoadBalancer Service that is not internal (declared, or in a Helm chart's values) names its host names (external-dns.alpha.kubernetes.io/hostname) and terminates TLS: on the load balancer, by passing only 443 through, or, for an ingress controller in a chart, with HTTPS on, HSTS on and plain HTTP off (or, where allowHttpRedirect, only redirected).",
    severity: "high",
    framework: platform("Public endpoints: TLS and host names, no plain HTTP"),
    clouds: ["kubernetes"],
    enforcementLevel: "mandatory",
    configSchema: { properties: { allowHttpRedirect: { type: "boolean", default: false } } },
    remediationSteps:
      "Give every Ingress rule a host and a spec.tls entry (hosts + secretName, e.g. from a cert-manager Certificate); annotate public load balancers with their host names; for ingress-nginx set controller.service.enableHttp: false (or, in dev, controller.config.force-ssl-redirect: \"true\") and keep HSTS on.",
  },
  [
    validateResourceOfType(INGRESS, (ingress, args, report) => checkIngress(ingress, describeObject(args.type, ingress), report)),
    validateResourceOfType(k8s.core.v1.Service, (service, args, report) => {
      if (service.spec?.type !== "LoadBalancer" || isInternal(service.metadata?.annotations as Record<string, string> | undefined)) return;
      checkService(service, `public LoadBalancer ${describeObject(args.type, service)}`, report);
    }),
    validateResourceOfType(RELEASE, (release, args, report) => {
      const { allowHttpRedirect } = args.getConfig<Params>();
      walkValues(release.values, (object, path) => {
        if (object.type !== "LoadBalancer" || isInternal(object.annotations)) return;
        // The values holding the service (ingress-nginx: `controller` for `controller.service`) configure its component.
        let component: Obj | undefined = release.values;
        for (const key of path.split(".").slice(0, -1)) component = component?.[key];
        checkChartService(object, component, `Helm release "${args.name}": ${path} (a public LoadBalancer)`, allowHttpRedirect, report);
      });
    }),
  ],
);
