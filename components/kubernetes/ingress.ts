import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Foundation, IngressSupport, Toleration } from "../contracts";
import { CertManager, type TlsIssuer } from "./cert-manager";
import { API_NAME, MLFLOW_NAME, PORTS, servingName } from "./constants";
import { pinnedRelease } from "./helm-release";
import { SKIP_AWAIT_ANNOTATION } from "./http-workload";
import { recommendedLabels } from "./labels";
import { KUBE_PROMETHEUS_STACK } from "./monitoring-stack";
import { createNamespace } from "./namespaces";
import { NetworkPolicies, type Flow, type Peer, type Port } from "./network-policies";
import type { ResourceSpec } from "./pod";

/**
 * The pinned ingress-nginx chart (kubernetes/ingress-nginx; 4.14.3 runs controller v1.14.3). Bump here,
 * read the chart's changelog, run the tests. The project was retired upstream in March 2026 (no
 * releases after it): this pin is the last maintained line, and the Ingress objects below are plain
 * networking.k8s.io/v1 with a class name, so another controller can take the class over.
 */
export const INGRESS_NGINX = {
  chart: "ingress-nginx",
  version: "4.14.3",
  repo: "https://kubernetes.github.io/ingress-nginx",
  release: "ingress-nginx",
  namespace: "ingress-nginx",
  /** The IngressClass the chart creates and every platform Ingress names. */
  className: "nginx",
} as const;

/** The controller's pods (the chart's labels): the only pods the exposed services admit from outside their namespaces' flows. */
export const INGRESS_CONTROLLER_PODS = { "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller" } as const;

/**
 * On the controller's LoadBalancer Service when it is reachable from the internet: the reason, read by
 * the policy pack (`workloads-no-public-load-balancer` admits such a Service, `endpoints-tls-and-hostname`
 * then requires TLS and host names of it).
 */
export const PUBLIC_ENTRY_POINT_ANNOTATION = "mlops.io/public-entry-point";
/** The host names the load balancer answers for (what external-dns, when installed, publishes). */
export const HOSTNAME_ANNOTATION = "external-dns.alpha.kubernetes.io/hostname";
/** On every platform Ingress: what authenticates the requests it lets through (never nothing). */
export const AUTHENTICATION_ANNOTATION = "mlops.io/authentication";

/** Host names of the public endpoints; an endpoint without one is not exposed. */
export interface IngressHosts {
  mlflow?: string;
  grafana?: string;
  /** The platform API (the front door for people and applications). */
  api?: string;
  /** Per served model: its inference API. */
  serving: Record<string, string>;
}

/** The platform's entry point, every value decided (infra/ingress-config.ts). */
export interface PlatformIngressSettings {
  /** An internet-facing load balancer; false: internal to the cloud network (VPN, peered networks). */
  public: boolean;
  /** Source ranges the load balancer admits (`loadBalancerSourceRanges`); empty: any address. */
  sourceCidrs: string[];
  hosts: IngressHosts;
  tls: TlsIssuer;
  /** `off`: no plain-HTTP listener at all (prod); `redirect`: port 80 only answers with a redirect to HTTPS. */
  plainHttp: "off" | "redirect";
  hstsMaxAgeSeconds: number;
  replicas: number;
  resources: ResourceSpec;
  certManagerResources: ResourceSpec;
}

/** One public endpoint: a Service of the platform behind a host name. */
export interface IngressEndpoint {
  /** Names the Ingress, its Certificate and the certificate's Secret (`<name>-tls`). */
  name: string;
  host: string;
  namespace: "platform" | "monitoring";
  service: string;
  port: number;
  /** What authenticates requests (the Ingress's `mlops.io/authentication` annotation and the README). */
  authentication: string;
  /** nginx's request body limit for it (`proxy-body-size`). */
  bodySize: string;
  /** Its backends may stay unready after `pulumi up` (serving waits for a registered model): Pulumi does not await the Ingress. */
  skipAwait?: boolean;
}

/** The Grafana Service of kube-prometheus-stack (port 80, the pods' 3000). */
export const GRAFANA_SERVICE = { name: `${KUBE_PROMETHEUS_STACK.release}-grafana`, port: 80 } as const;

/**
 * The endpoints of the configured hosts. Adding an endpoint is one more entry here, one more host key
 * in the config and one more flow in flows.ts.
 */
export function ingressEndpoints(hosts: IngressHosts): IngressEndpoint[] {
  const endpoints: IngressEndpoint[] = [];
  if (hosts.mlflow) {
    endpoints.push({
      name: MLFLOW_NAME,
      host: hosts.mlflow,
      namespace: "platform",
      service: MLFLOW_NAME,
      port: PORTS.mlflow,
      authentication: "MLflow basic auth (its users; the admin's password in Secret mlops/mlflow-admin)",
      // Models and artifacts are uploaded through MLflow's artifact proxy.
      bodySize: "1g",
    });
  }
  if (hosts.grafana) {
    endpoints.push({
      name: "grafana",
      host: hosts.grafana,
      namespace: "monitoring",
      service: GRAFANA_SERVICE.name,
      port: GRAFANA_SERVICE.port,
      authentication: "Grafana login (admin password in Secret monitoring/grafana-admin); anonymous access off",
      bodySize: "1m",
    });
  }
  if (hosts.api) {
    endpoints.push({
      name: API_NAME,
      host: hosts.api,
      namespace: "platform",
      service: API_NAME,
      port: PORTS.api,
      authentication: "the platform API's access tokens (POST /auth/login) and API keys; first admin's password in stack output apiAdminPassword",
      // The API's own limit (MAX_BODY_BYTES, 8 MiB) answers 413 with its error body.
      bodySize: "8m",
    });
  }
  for (const [model, host] of Object.entries(hosts.serving)) {
    endpoints.push({
      name: servingName(model),
      host,
      namespace: "platform",
      service: servingName(model),
      port: PORTS.api,
      authentication: "serving API keys (Authorization header; stack output servingApiKeys)",
      // Serving's own limit (MAX_BODY_BYTES, 8 MiB) answers 413 with its error body.
      bodySize: "8m",
      skipAwait: true,
    });
  }
  return endpoints;
}

/** What flows.ts needs to let the controller reach exactly the exposed services' ports. */
export function ingressFlowArgs(hosts: IngressHosts): { namespace: string; selector: Record<string, string>; mlflow: boolean; grafana: boolean; api: boolean; models: string[] } {
  return {
    namespace: INGRESS_NGINX.namespace,
    selector: { ...INGRESS_CONTROLLER_PODS },
    mlflow: Boolean(hosts.mlflow),
    grafana: Boolean(hosts.grafana),
    api: Boolean(hosts.api),
    models: Object.keys(hosts.serving),
  };
}

/**
 * What would make the entry point unusable, or undefined: checked by Platform before it declares
 * anything (a refused Platform leaves nothing half-declared).
 */
export function ingressProblem(settings: PlatformIngressSettings, foundation: Pick<Foundation, "ingress">, models: string[]): string | undefined {
  if (!ingressEndpoints(settings.hosts).length) return "ingress: no endpoint has a host name; configure at least one of mlops:ingress.hosts";
  const unknown = Object.keys(settings.hosts.serving).filter((m) => !models.includes(m));
  if (unknown.length) return `ingress: hosts.serving names ${unknown.map((m) => `"${m}"`).join(", ")}, which the platform does not serve (models: ${models.join(", ") || "none"})`;
  if (settings.tls.kind === "acme" && !foundation.ingress?.dns01) {
    return `ingress: the ACME issuer ${settings.tls.server} answers DNS-01 challenges, but the foundation has no DNS-01 support (foundation.ingress.dns01): configure a DNS zone, or use the self-signed issuer`;
  }
  return undefined;
}

/** A foundation that says nothing: the cluster's default load balancer, no DNS-01. */
const DEFAULT_SUPPORT: IngressSupport = { exposure: "loadBalancer", serviceAnnotations: { public: {}, internal: {} } };

export interface PlatformIngressArgs {
  settings: PlatformIngressSettings;
  foundation: Pick<Foundation, "kubernetesVersion" | "ingress" | "scheduling">;
  /** The platform's namespaces (their Output names, so the objects wait for them). */
  namespaces: { platform: pulumi.Input<string>; monitoring: pulumi.Input<string> };
  /** The platform's flows (platformFlows with `ingress`): the controller's egress to the exposed services is rendered from them. */
  flows: Flow[];
  /** The served models: a serving host must name one of them. */
  models: string[];
}

/**
 * The platform's one entry point: ingress-nginx (its own namespace, default-deny NetworkPolicies plus
 * exactly its flows), exposed the way the foundation says (a cloud load balancer, internal unless the
 * stack asks for public, or a kind node's ports), TLS from cert-manager for every host (Certificates
 * from the ClusterIssuer CertManager declares), HSTS, HTTP redirected or not listened on, and one
 * Ingress per endpoint, each naming what authenticates it.
 */
export class PlatformIngress extends pulumi.ComponentResource {
  /** `https://<host>` per endpoint name. */
  readonly urls: Record<string, string> = {};
  readonly certManager: CertManager;
  readonly controller: k8s.helm.v3.Release;

  constructor(name: string, args: PlatformIngressArgs, opts?: pulumi.ComponentResourceOptions) {
    const problem = ingressProblem(args.settings, args.foundation, args.models);
    if (problem) throw new Error(problem);
    const endpoints = ingressEndpoints(args.settings.hosts);
    super("mlops:kubernetes:Ingress", name, {}, opts);
    const parent = { parent: this };
    const s = args.settings;
    const support = args.foundation.ingress ?? DEFAULT_SUPPORT;
    const tolerations = args.foundation.scheduling?.tolerations ?? [];

    this.certManager = new CertManager(
      `${name}-cert-manager`,
      { kubernetesVersion: args.foundation.kubernetesVersion, issuer: s.tls, dns01: support.dns01, tolerations, resources: s.certManagerResources },
      parent,
    );

    // hostPort is a baseline violation: only a kind node's published ports need it.
    const namespace = createNamespace(
      { name: INGRESS_NGINX.namespace, enforce: support.exposure === "hostPort" ? "privileged" : "baseline", warn: "restricted", kubernetesVersion: args.foundation.kubernetesVersion },
      parent,
    );
    const policies = new NetworkPolicies(
      `${name}-policies`,
      { namespace: namespace.metadata.name, namespaceName: INGRESS_NGINX.namespace, flows: [...args.flows, ...controllerFlows(s.plainHttp)] },
      parent,
    );
    this.controller = pinnedRelease(
      `${name}-controller`,
      {
        pin: INGRESS_NGINX,
        namespace: namespace.metadata.name,
        createNamespace: false,
        timeout: 900,
        values: ingressNginxValues(s, support, tolerations, endpoints.map((e) => e.host)),
      },
      { ...parent, dependsOn: [policies] },
    );

    for (const endpoint of endpoints) {
      const ns = args.namespaces[endpoint.namespace];
      const secretName = `${endpoint.name}-tls`;
      const certificate = new k8s.apiextensions.CustomResource(
        `${name}-${endpoint.name}-certificate`,
        {
          apiVersion: "cert-manager.io/v1",
          kind: "Certificate",
          metadata: { name: secretName, namespace: ns, labels: recommendedLabels({ name: "ingress", instance: endpoint.name, component: "certificate" }) },
          spec: {
            secretName,
            dnsNames: [endpoint.host],
            issuerRef: { name: this.certManager.issuerName, kind: "ClusterIssuer", group: "cert-manager.io" },
            privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
            // Let's Encrypt decides its certificates' lifetime; the private CA's are 90 days too.
            ...(s.tls.kind === "self-signed" ? { duration: "2160h", renewBefore: "720h" } : {}),
          },
        },
        { ...parent, dependsOn: this.certManager.issuerReady },
      );
      new k8s.networking.v1.Ingress(
        `${name}-${endpoint.name}`,
        {
          metadata: {
            name: endpoint.name,
            namespace: ns,
            labels: recommendedLabels({ name: "ingress", instance: endpoint.name, component: "ingress" }),
            annotations: {
              "nginx.ingress.kubernetes.io/ssl-redirect": "true",
              "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
              "nginx.ingress.kubernetes.io/proxy-body-size": endpoint.bodySize,
              [AUTHENTICATION_ANNOTATION]: endpoint.authentication,
              ...(endpoint.skipAwait ? { [SKIP_AWAIT_ANNOTATION]: "true" } : {}),
            },
          },
          spec: {
            ingressClassName: INGRESS_NGINX.className,
            tls: [{ hosts: [endpoint.host], secretName }],
            rules: [
              {
                host: endpoint.host,
                http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: endpoint.service, port: { number: endpoint.port } } } }] },
              },
            ],
          },
        },
        { ...parent, dependsOn: [this.controller, certificate] },
      );
      this.urls[endpoint.name] = `https://${endpoint.host}`;
    }
    this.registerOutputs({ urls: this.urls });
  }
}

/** The chart's values: only what differs from its defaults, each for a stated reason. */
export function ingressNginxValues(s: PlatformIngressSettings, support: IngressSupport, tolerations: Toleration[], hosts: string[]): Record<string, unknown> {
  const loadBalancer = support.exposure === "loadBalancer";
  const http = s.plainHttp === "redirect";
  const annotations: Record<string, string> = {
    ...(s.public ? support.serviceAnnotations.public : support.serviceAnnotations.internal),
    [HOSTNAME_ANNOTATION]: hosts.join(","),
    ...(s.public ? { [PUBLIC_ENTRY_POINT_ANNOTATION]: "the platform's TLS entry point: every Ingress behind it has TLS, a host name and authentication" } : {}),
  };
  const allTolerations = [...tolerations, ...(support.tolerations ?? [])].map((t) => ({ ...t }));
  return {
    fullnameOverride: INGRESS_NGINX.release,
    controller: {
      replicaCount: s.replicas,
      ...(s.replicas > 1 ? { minAvailable: 1 } : {}),
      ingressClass: INGRESS_NGINX.className,
      ingressClassResource: { name: INGRESS_NGINX.className, enabled: true, default: false, controllerValue: "k8s.io/ingress-nginx" },
      // Only Ingresses naming the class: another team's class-less Ingress is not published here.
      watchIngressWithoutClass: false,
      // Snippets let an Ingress inject nginx configuration: off (the chart's default, stated).
      allowSnippetAnnotations: false,
      // The platform's Ingresses are generated and schema-checked before deploy; no webhook means no
      // API-server-to-pod flow and no certificate Jobs.
      admissionWebhooks: { enabled: false },
      config: {
        "ssl-redirect": "true",
        "force-ssl-redirect": "true",
        hsts: "true",
        "hsts-max-age": String(s.hstsMaxAgeSeconds),
        "hsts-include-subdomains": "false",
        "hsts-preload": "false",
        "ssl-protocols": "TLSv1.2 TLSv1.3",
      },
      service: loadBalancer
        ? {
            type: "LoadBalancer",
            annotations,
            // prod: no plain-HTTP listener on the load balancer at all.
            enableHttp: http,
            enableHttps: true,
            ...(s.sourceCidrs.length ? { loadBalancerSourceRanges: [...s.sourceCidrs] } : {}),
          }
        : { type: "ClusterIP", annotations, enableHttp: http, enableHttps: true },
      // kind: the node's ports 80/443, mapped to the machine's by the cluster's extraPortMappings.
      ...(loadBalancer
        ? {}
        : { hostPort: { enabled: true, ports: { http: 80, https: 443 } }, publishService: { enabled: false }, extraArgs: { "publish-status-address": "localhost" } }),
      nodeSelector: { "kubernetes.io/os": "linux", ...(support.nodeSelector ?? {}) },
      ...(allTolerations.length ? { tolerations: allTolerations } : {}),
      resources: {
        requests: { cpu: s.resources.cpuRequest, memory: s.resources.memoryRequest },
        limits: { cpu: s.resources.cpuLimit, memory: s.resources.memoryLimit },
      },
    },
    defaultBackend: { enabled: false },
  };
}

const tcp = (...ports: number[]): Port[] => ports.map((port) => ({ port, protocol: "TCP" as const }));

/** The controller's own connections; its egress to the exposed services comes from the platform's flows. */
export function controllerFlows(plainHttp: PlatformIngressSettings["plainHttp"]): Flow[] {
  const controller: Peer = { kind: "pods", name: "ingress-controller", namespace: INGRESS_NGINX.namespace, selector: { ...INGRESS_CONTROLLER_PODS } };
  const kubeDns: Peer = { kind: "pods", name: "kube-dns", namespace: "kube-system", selector: { "k8s-app": "kube-dns" } };
  const anywhere: Peer = { kind: "anywhere", name: "anywhere" };
  return [
    { from: anywhere, to: controller, ports: tcp(...(plainHttp === "redirect" ? [80, 443] : [443])), why: "clients, through the load balancer (or the node's ports)" },
    {
      from: controller,
      to: kubeDns,
      ports: [
        { port: 53, protocol: "UDP" },
        { port: 53, protocol: "TCP" },
      ],
      why: "name resolution",
    },
    { from: controller, to: anywhere, ports: tcp(443, 6443), why: "the Kubernetes API (Ingresses, Services, EndpointSlices, Secrets, its status)" },
  ];
}
