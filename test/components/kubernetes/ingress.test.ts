/**
 * The entry point on any Foundation (components/kubernetes/ingress.ts, cert-manager.ts): what the
 * foundation says the load balancer needs, TLS from cert-manager for every host, HSTS, plain HTTP
 * redirected or not listened on, authentication named on every Ingress, and NetworkPolicies that let
 * the controller reach exactly the exposed services' ports. On a hand-made Foundation (the contract
 * only) and in pure functions; the seven real stacks are test/infra/ingress.test.ts.
 */
import { ACME_SERVERS, CERT_MANAGER, CERT_MANAGER_SERVICE_ACCOUNT, certManagerFlows, certManagerValues, ISSUERS } from "../../../components/kubernetes/cert-manager";
import {
  AUTHENTICATION_ANNOTATION,
  controllerFlows,
  HOSTNAME_ANNOTATION,
  INGRESS_CONTROLLER_PODS,
  INGRESS_NGINX,
  ingressEndpoints,
  ingressNginxValues,
  PUBLIC_ENTRY_POINT_ANNOTATION,
  type PlatformIngressSettings,
} from "../../../components/kubernetes/ingress";
import type { IngressSupport } from "../../../components/contracts";
import { Cluster, type Endpoint, type Policy } from "./support/network";
import { FAKE_INGRESS, planOnFakeFoundation, type K8sObject, type Plan } from "./support/plan";
import { validateObjects } from "./support/schema";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const SETTINGS: PlatformIngressSettings = {
  public: true,
  sourceCidrs: [],
  hosts: { mlflow: "mlflow.ml.example.com", grafana: "grafana.ml.example.com", serving: { "fraud-detector": "fraud.ml.example.com" } },
  tls: { kind: "self-signed" },
  plainHttp: "off",
  hstsMaxAgeSeconds: 31536000,
  replicas: 2,
  resources: { cpuRequest: "100m", memoryRequest: "128Mi", cpuLimit: "1", memoryLimit: "512Mi" },
  certManagerResources: { cpuRequest: "20m", memoryRequest: "64Mi", cpuLimit: "500m", memoryLimit: "256Mi" },
};
const LB: IngressSupport = { exposure: "loadBalancer", serviceAnnotations: { public: { "cloud/scheme": "public" }, internal: { "cloud/scheme": "internal" } } };
const hosts = SETTINGS.hosts;
const releaseOf = (p: Plan, chart: string) => p.resources.find((r) => r.type === RELEASE && r.inputs.chart === chart)!;
const ingresses = (objects: K8sObject[]) => objects.filter((o) => o.kind === "Ingress");
const certificates = (objects: K8sObject[]) => objects.filter((o) => o.kind === "Certificate");
const clusterIssuers = (objects: K8sObject[]) => objects.filter((o) => o.kind === "ClusterIssuer");
/** A dev stack with an ingress configured (dev stack files leave it off). */
const DEV_INGRESS = { hosts: { mlflow: "mlflow.dev.example.com", grafana: "grafana.dev.example.com", serving: { "fraud-detector": "fraud-detector.dev.example.com" } } };
const devWithIngress = (ingress: object = DEV_INGRESS, foundation = {}) => planOnFakeFoundation("dev", { "mlops:ingress": JSON.stringify(ingress) }, foundation);

describe("the endpoints and what authenticates each", () => {
  test("one endpoint per configured host, each naming its Service, port and authentication", () => {
    const endpoints = ingressEndpoints(hosts);
    expect(endpoints.map((e) => [e.name, e.host, e.namespace, e.service, e.port])).toEqual([
      ["mlflow", "mlflow.ml.example.com", "platform", "mlflow", 5000],
      ["grafana", "grafana.ml.example.com", "monitoring", "kube-prometheus-stack-grafana", 80],
      ["serving-fraud-detector", "fraud.ml.example.com", "platform", "serving-fraud-detector", 8080],
    ]);
    expect(endpoints.map((e) => e.authentication)).toEqual([expect.stringMatching(/basic auth/), expect.stringMatching(/Grafana login.*anonymous access off/), expect.stringMatching(/API keys/)]);
    // Serving waits for a registered model: its Ingress is not awaited (like its Deployment).
    expect(endpoints.filter((e) => e.skipAwait).map((e) => e.name)).toEqual(["serving-fraud-detector"]);
  });

  test("an endpoint without a host is not exposed", () => {
    expect(ingressEndpoints({ serving: {}, grafana: "g.example.com" }).map((e) => e.name)).toEqual(["grafana"]);
    expect(ingressEndpoints({ serving: {} })).toEqual([]);
  });
});

describe("ingress-nginx's values", () => {
  const values = (s: Partial<PlatformIngressSettings> = {}, support: IngressSupport = LB) => ingressNginxValues({ ...SETTINGS, ...s }, support, [], ["a.example.com", "b.example.com"]) as any;

  test("pinned chart; HSTS, forced redirect and TLS 1.2+ in the controller's configuration; snippets, the webhook and the default backend off", () => {
    expect(INGRESS_NGINX).toMatchObject({ chart: "ingress-nginx", version: expect.stringMatching(/^\d+\.\d+\.\d+$/), repo: expect.stringMatching(/^https:\/\//) });
    const v = values();
    expect(v.controller.config).toMatchObject({ hsts: "true", "hsts-max-age": "31536000", "ssl-redirect": "true", "force-ssl-redirect": "true", "ssl-protocols": "TLSv1.2 TLSv1.3" });
    expect(v.controller.allowSnippetAnnotations).toBe(false);
    expect(v.controller.admissionWebhooks).toEqual({ enabled: false });
    expect(v.controller.watchIngressWithoutClass).toBe(false);
    expect(v.controller.ingressClassResource).toMatchObject({ name: INGRESS_NGINX.className, enabled: true, default: false });
    expect(v.defaultBackend).toEqual({ enabled: false });
    expect(v.controller.minAvailable).toBe(1);
  });

  test("no plain-HTTP listener with plainHttp off (prod); HTTP only redirects otherwise", () => {
    expect(values({ plainHttp: "off" }).controller.service).toMatchObject({ type: "LoadBalancer", enableHttp: false, enableHttps: true });
    expect(values({ plainHttp: "redirect" }).controller.service).toMatchObject({ enableHttp: true, enableHttps: true });
    expect(values({ plainHttp: "redirect" }).controller.config["force-ssl-redirect"]).toBe("true");
  });

  test("the foundation's annotations for the chosen scheme, the host names, and the public entry point's reason only when public", () => {
    const pub = values({ public: true }).controller.service.annotations;
    expect(pub).toMatchObject({ "cloud/scheme": "public", [HOSTNAME_ANNOTATION]: "a.example.com,b.example.com" });
    expect(pub[PUBLIC_ENTRY_POINT_ANNOTATION]).toMatch(/TLS/);
    const internal = values({ public: false }).controller.service.annotations;
    expect(internal).toMatchObject({ "cloud/scheme": "internal", [HOSTNAME_ANNOTATION]: "a.example.com,b.example.com" });
    expect(internal[PUBLIC_ENTRY_POINT_ANNOTATION]).toBeUndefined();
    expect(values({ sourceCidrs: ["203.0.113.0/24"] }).controller.service.loadBalancerSourceRanges).toEqual(["203.0.113.0/24"]);
    expect(values().controller.service.loadBalancerSourceRanges).toBeUndefined();
  });

  test("kind: the node's ports 80/443 on the labelled node, no load balancer (a ClusterIP Service), the status published as localhost", () => {
    const kind: IngressSupport = { exposure: "hostPort", serviceAnnotations: { public: {}, internal: {} }, nodeSelector: { "ingress-ready": "true" }, tolerations: [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" }] };
    const c = values({ plainHttp: "redirect" }, kind).controller;
    expect(c.hostPort).toEqual({ enabled: true, ports: { http: 80, https: 443 } });
    expect(c.service.type).toBe("ClusterIP");
    expect(c.nodeSelector).toEqual({ "kubernetes.io/os": "linux", "ingress-ready": "true" });
    expect(c.tolerations).toEqual(kind.tolerations);
    expect(c.extraArgs).toEqual({ "publish-status-address": "localhost" });
  });
});

describe("on a foundation with ACME DNS-01 (the prod config: letsencrypt, a zone)", () => {
  let p: Plan;
  beforeAll(async () => {
    p = await planOnFakeFoundation("prod");
  });

  test("one Ingress per host: its class, TLS for exactly its host, routing by host only, the redirect forced, its authentication named", () => {
    const list = ingresses(p.objects);
    // The prod stack exposes one of its two models: churn-predictor has no host, so no Ingress.
    expect(list.map((i) => i.spec.rules[0].host).sort()).toEqual(["api.ml.acme.example", "fraud-detector.ml.acme.example", "grafana.ml.acme.example", "mlflow.ml.acme.example"]);
    for (const i of list) {
      expect(i.spec.ingressClassName).toBe(INGRESS_NGINX.className);
      expect(i.spec.defaultBackend).toBeUndefined();
      expect(i.spec.tls).toEqual([{ hosts: [i.spec.rules[0].host], secretName: `${i.metadata.name}-tls` }]);
      expect(i.metadata.annotations).toMatchObject({ "nginx.ingress.kubernetes.io/ssl-redirect": "true", "nginx.ingress.kubernetes.io/force-ssl-redirect": "true" });
      expect(i.metadata.annotations![AUTHENTICATION_ANNOTATION].length).toBeGreaterThan(10);
    }
    const grafana = list.find((i) => i.metadata.name === "grafana")!;
    expect(grafana.metadata.namespace).toBe("monitoring");
    expect(grafana.spec.rules[0].http.paths[0].backend.service).toEqual({ name: "kube-prometheus-stack-grafana", port: { number: 80 } });
    const api = list.find((i) => i.metadata.name === "platform-api")!;
    expect(api.metadata.namespace).toBe("mlops");
    expect(api.spec.rules[0].http.paths[0].backend.service).toEqual({ name: "platform-api", port: { number: 8080 } });
    expect(api.metadata.annotations!["nginx.ingress.kubernetes.io/proxy-body-size"]).toBe("8m");
  });

  test("a Certificate per host from the ACME ClusterIssuer, in the Ingress's namespace, named as the Ingress's secret", () => {
    const certs = certificates(p.objects).filter((c) => c.metadata.namespace !== CERT_MANAGER.namespace);
    expect(certs).toHaveLength(4);
    for (const i of ingresses(p.objects)) {
      const cert = certs.find((c) => c.spec.secretName === i.spec.tls[0].secretName)!;
      expect(cert.metadata.namespace).toBe(i.metadata.namespace);
      expect(cert.spec.dnsNames).toEqual(i.spec.tls[0].hosts);
      expect(cert.spec.issuerRef).toEqual({ name: "letsencrypt", kind: "ClusterIssuer", group: "cert-manager.io" });
    }
  });

  test("the ClusterIssuer: Let's Encrypt with the contact e-mail, DNS-01 with the foundation's solver for its zone", () => {
    const issuers = clusterIssuers(p.objects);
    expect(issuers.map((i) => i.metadata.name)).toEqual(["letsencrypt"]);
    expect(issuers[0].spec.acme).toEqual({
      server: ACME_SERVERS.letsencrypt,
      email: "ml-platform@acme.example",
      privateKeySecretRef: { name: "letsencrypt-account-key" },
      solvers: [{ selector: { dnsZones: ["ml.acme.example"] }, dns01: { cloudDNS: { project: "example-project", hostedZoneName: "example-zone" } } }],
    });
  });

  test("cert-manager runs as the foundation's DNS-01 identity, from its pinned chart with its CRDs (kept on uninstall)", () => {
    const cm = releaseOf(p, "cert-manager");
    expect(cm.inputs).toMatchObject({ version: CERT_MANAGER.version, repositoryOpts: { repo: CERT_MANAGER.repo }, namespace: CERT_MANAGER.namespace });
    expect(cm.inputs.values.crds).toEqual({ enabled: true, keep: true });
    expect(cm.inputs.values.serviceAccount).toEqual({ create: true, name: CERT_MANAGER_SERVICE_ACCOUNT.name, annotations: { "iam.gke.io/gcp-service-account": "cert-manager@example.iam.gserviceaccount.com" } });
    // The issuers wait for the release (its CRDs and webhook), the certificates for the issuer.
    const issuer = clusterIssuers(p.objects)[0];
    expect(issuer.resource.dependencies).toContain(cm.urn);
    for (const c of certificates(p.objects)) expect(c.resource.dependencies).toContain(issuer.resource.urn);
  });

  test("prod: no plain-HTTP listener, a year of HSTS, two controllers; MLflow accepts its host; Grafana knows its public URL, anonymous access off", () => {
    const v = releaseOf(p, "ingress-nginx").inputs.values;
    expect(v.controller.service.enableHttp).toBe(false);
    expect(v.controller.config["hsts-max-age"]).toBe("31536000");
    expect(v.controller.replicaCount).toBe(2);
    const mlflow = p.objects.find((o) => o.kind === "Deployment" && o.metadata.name === "mlflow")!;
    expect(mlflow.spec.template.spec.containers[0].args.find((a: string) => a.startsWith("--allowed-hosts="))).toContain(",mlflow.ml.acme.example,mlflow.ml.acme.example:*");
    const grafana = releaseOf(p, "kube-prometheus-stack").inputs.values.grafana["grafana.ini"];
    expect(grafana).toEqual({ "auth.anonymous": { enabled: false }, users: { allow_sign_up: false }, server: { root_url: "https://grafana.ml.acme.example/" }, security: { cookie_secure: true } });
  });

  test("every object is schema-valid, cert-manager's resources included", () => {
    const ours = p.objects.filter((o) => ["Ingress", "Certificate", "ClusterIssuer", "Namespace", "NetworkPolicy"].includes(o.kind));
    expect(ours.filter((o) => o.kind === "ClusterIssuer").length).toBeGreaterThan(0);
    expect(validateObjects(ours)).toEqual([]);
  });

  test("the Ingress objects wait for the controller's release (its IngressClass) and their Certificate", () => {
    const controller = releaseOf(p, "ingress-nginx");
    for (const i of ingresses(p.objects)) {
      expect(i.resource.dependencies).toContain(controller.urn);
      expect(i.resource.dependencies).toContain(certificates(p.objects).find((c) => c.spec.secretName === i.spec.tls[0].secretName)!.resource.urn);
    }
  });
});

describe("without a DNS zone: the platform's private CA, named as such", () => {
  let p: Plan;
  beforeAll(async () => {
    p = await devWithIngress();
  });

  test("a self-signed root signs one CA certificate (in cert-manager's namespace), whose ClusterIssuer signs every endpoint's", () => {
    const issuers = clusterIssuers(p.objects);
    expect(issuers.map((i) => [i.metadata.name, Object.keys(i.spec)[0]])).toEqual([
      [ISSUERS.selfSignedRoot, "selfSigned"],
      [ISSUERS.privateCa, "ca"],
    ]);
    expect(issuers[1].spec.ca).toEqual({ secretName: ISSUERS.privateCaSecret });
    const ca = certificates(p.objects).find((c) => c.metadata.namespace === CERT_MANAGER.namespace)!;
    expect(ca.spec).toMatchObject({ isCA: true, secretName: ISSUERS.privateCaSecret, issuerRef: { name: ISSUERS.selfSignedRoot, kind: "ClusterIssuer" } });
    for (const c of certificates(p.objects).filter((x) => x !== ca)) expect(c.spec).toMatchObject({ issuerRef: { name: ISSUERS.privateCa }, duration: "2160h", renewBefore: "720h" });
    expect(validateObjects(p.objects.filter((o) => ["Certificate", "ClusterIssuer", "Ingress"].includes(o.kind)))).toEqual([]);
  });

  test("dev: HTTP answers only with a redirect; the load balancer stays internal unless asked", () => {
    const v = releaseOf(p, "ingress-nginx").inputs.values;
    expect(v.controller.service.enableHttp).toBe(true);
    expect(v.controller.config["force-ssl-redirect"]).toBe("true");
    expect(v.controller.service.annotations).toMatchObject(FAKE_INGRESS.serviceAnnotations.internal);
    expect(v.controller.service.annotations[PUBLIC_ENTRY_POINT_ANNOTATION]).toBeUndefined();
    expect(releaseOf(p, "cert-manager").inputs.values.serviceAccount.annotations).toBeUndefined();
  });

  test("an ACME issuer without the foundation's DNS-01 support is refused before anything is declared", async () => {
    const ingress = { ...DEV_INGRESS, tls: { issuer: "letsencrypt", email: "ops@example.com" }, dnsZone: { name: "dev.example.com", id: "Z0123456789" } };
    await expect(devWithIngress(ingress, { dns01Zone: null })).rejects.toThrow(/answers DNS-01 challenges, but the foundation has no DNS-01 support/);
  });

  test("a foundation that says nothing about ingress gets the cluster's default load balancer", async () => {
    const q = await devWithIngress(DEV_INGRESS, { ingress: null });
    expect(releaseOf(q, "ingress-nginx").inputs.values.controller.service).toMatchObject({ type: "LoadBalancer", annotations: { [HOSTNAME_ANNOTATION]: expect.any(String) } });
  });
});

describe("network policies: the controller reaches exactly the exposed services' ports", () => {
  const controller: Endpoint = { id: "controller", namespace: INGRESS_NGINX.namespace, labels: { ...INGRESS_CONTROLLER_PODS, "app.kubernetes.io/instance": "ingress-nginx" } };
  const pod = (id: string, namespace: string, labels: Record<string, string>): Endpoint => ({ id, namespace, labels });
  const mlflow = pod("mlflow", "mlops", { "app.kubernetes.io/name": "mlflow", "app.kubernetes.io/instance": "mlflow" });
  const monitor = pod("monitor", "mlops", { "app.kubernetes.io/name": "monitor", "app.kubernetes.io/instance": "monitor" });
  const serving = pod("serving", "mlops", { "app.kubernetes.io/name": "serving", "app.kubernetes.io/instance": "serving-fraud-detector" });
  const drift = pod("drift", "mlops", { "app.kubernetes.io/name": "drift", "app.kubernetes.io/instance": "drift-fraud-detector" });
  const grafana = pod("grafana", "monitoring", { "app.kubernetes.io/name": "grafana" });
  const prometheus = pod("prometheus", "monitoring", { "app.kubernetes.io/name": "prometheus" });
  const internet: Endpoint = { id: "internet", labels: {} };
  const stranger = pod("stranger", "other", { app: "x" });
  const clusterOf = (objects: K8sObject[]) => {
    const namespaces: Record<string, Record<string, string>> = { other: {}, "kube-system": {} };
    for (const ns of objects.filter((o) => o.kind === "Namespace")) namespaces[ns.metadata.name] = ns.metadata.labels ?? {};
    return new Cluster(objects.filter((o) => o.kind === "NetworkPolicy") as unknown as Policy[], namespaces);
  };

  test("every exposed service on its own port, nothing else (not the monitor, drift, Prometheus, another port)", async () => {
    const c = clusterOf((await devWithIngress()).objects);
    const reach = (to: Endpoint, port: number) => c.allowed(controller, to, port);
    expect([reach(mlflow, 5000), reach(grafana, 3000), reach(serving, 8080)]).toEqual([true, true, true]);
    expect([reach(serving, 9090), reach(monitor, 8080), reach(drift, 8080), reach(prometheus, 9090), reach(mlflow, 8080)]).toEqual([false, false, false, false, false]);
    // Clients reach the controller on 443 (and 80, which only redirects, in dev); nobody reaches the platform through its namespace.
    expect([c.allowed(internet, controller, 443), c.allowed(internet, controller, 80), c.allowed(internet, controller, 10254)]).toEqual([true, true, false]);
    expect(c.allowed(stranger, mlflow, 5000)).toBe(false);
  });

  test("the platform API: reached by the controller on 8080 only when hosts.api exposes it, never on its metrics port", async () => {
    const api = pod("api", "mlops", { "app.kubernetes.io/name": "api", "app.kubernetes.io/instance": "platform-api" });
    const exposed = clusterOf((await planOnFakeFoundation("prod")).objects);
    expect([exposed.allowed(controller, api, 8080), exposed.allowed(controller, api, 9090)]).toEqual([true, false]);
    const hidden = clusterOf((await devWithIngress()).objects);
    expect(hidden.allowed(controller, api, 8080)).toBe(false);
  });

  test("only the configured endpoints: without a Grafana host the controller cannot reach Grafana; prod does not even admit port 80", async () => {
    const c = clusterOf((await devWithIngress({ hosts: { mlflow: "mlflow.dev.example.com" } })).objects);
    expect([c.allowed(controller, mlflow, 5000), c.allowed(controller, grafana, 3000), c.allowed(controller, serving, 8080)]).toEqual([true, false, false]);
    const prod = clusterOf((await planOnFakeFoundation("prod")).objects);
    expect([prod.allowed(internet, controller, 443), prod.allowed(internet, controller, 80)]).toEqual([true, false]);
  });

  test("cert-manager's and the controller's namespaces start from deny-all; the controller's own flows; cert-manager reaches the token endpoint only when the foundation says so", async () => {
    const p = await devWithIngress();
    for (const ns of [INGRESS_NGINX.namespace, CERT_MANAGER.namespace]) {
      expect(p.objects.find((o) => o.kind === "NetworkPolicy" && o.metadata.namespace === ns && o.metadata.name === "default-deny")!.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    }
    expect(controllerFlows("off").map((f) => [f.to.name, f.ports?.map((x) => x.port)])).toEqual([
      ["ingress-controller", [443]],
      ["kube-dns", [53, 53]],
      ["anywhere", [443, 6443]],
    ]);
    const withToken = certManagerFlows({ zone: "z", solver: undefined as never, identity: undefined as never, tokenEndpointPorts: [80, 988] });
    expect(withToken.at(-1)).toMatchObject({ from: { name: "controller" }, ports: [{ port: 80 }, { port: 988 }] });
    expect(certManagerFlows().some((f) => f.ports?.some((x) => x.port === 988))).toBe(false);
  });
});

describe("cert-manager's values", () => {
  test("the identity's annotations on its service account and its labels on its pods (Azure's webhook needs the label); leader election in its own namespace", () => {
    const identity = { serviceAccountName: "cert-manager", namespace: "cert-manager", serviceAccountAnnotations: { a: "1" } as any, podLabels: { "azure.workload.identity/use": "true" } as any };
    const v = certManagerValues({ dns01: { zone: "z", solver: {} as any, identity }, resources: SETTINGS.certManagerResources }) as any;
    expect(v.serviceAccount.annotations).toEqual({ a: "1" });
    expect(v.podLabels).toEqual({ "azure.workload.identity/use": "true" });
    expect(v.global.leaderElection.namespace).toBe(CERT_MANAGER.namespace);
    const plain = certManagerValues({ resources: SETTINGS.certManagerResources }) as any;
    expect(plain.podLabels).toBeUndefined();
    expect(plain.tolerations).toBeUndefined();
  });
});

describe("what is refused", () => {
  test("a serving host for a model the platform does not serve", async () => {
    await expect(devWithIngress({ hosts: { serving: { churn: "churn.dev.example.com" } } })).rejects.toThrow(/mlops:ingress\.hosts\.serving\.churn: .*is not a model of mlops:models/);
  });

  test("without mlops:ingress nothing is exposed: no controller, no cert-manager, no Ingress; Grafana's anonymous access is off all the same", async () => {
    const p = await planOnFakeFoundation("dev");
    expect(p.resources.filter((r) => r.type === RELEASE).map((r) => r.inputs.chart)).not.toEqual(expect.arrayContaining(["ingress-nginx"]));
    expect(p.resources.some((r) => r.type === RELEASE && r.inputs.chart === "cert-manager")).toBe(false);
    expect(ingresses(p.objects)).toEqual([]);
    expect(p.result.outputs.publicUrls).toEqual({});
    expect(releaseOf(p, "kube-prometheus-stack").inputs.values.grafana["grafana.ini"]).toEqual({ "auth.anonymous": { enabled: false }, users: { allow_sign_up: false } });
  });
});
