/**
 * The entry point on all seven stacks, under Pulumi's mocks with each stack's real config: the prod
 * stacks of the three clouds and the local stack turn `mlops:ingress` on, the clouds' dev stacks leave
 * it off. Ingress objects with TLS for their configured hosts, the issuers (ACME DNS-01 where a zone is
 * configured, the private CA otherwise), each cloud's DNS-01 identity, HSTS, no plain-HTTP listener in
 * prod, the load balancer each cloud gets, every object schema-valid, the config's refusals, and the
 * policy pack's verdict on each stack.
 */
import { parse } from "yaml";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ACME_SERVERS, CERT_MANAGER, CERT_MANAGER_SERVICE_ACCOUNT, ISSUERS } from "../../components/kubernetes/cert-manager";
import { AUTHENTICATION_ANNOTATION, HOSTNAME_ANNOTATION, INGRESS_NGINX, PUBLIC_ENTRY_POINT_ANNOTATION } from "../../components/kubernetes/ingress";
import { ConfigError, parseConfig } from "../../infra/config";
import { allRules } from "../../policies/rules";
import { endpointsRules } from "../../policies/rules/endpoints";
import { workloadsNoPublicLoadBalancer } from "../../policies/rules/workloads/no-public-load-balancer";
import type { DeclaredResource, PlanResult } from "../../scripts/plan/harness";
import { runPolicies } from "../../scripts/plan/policy-engine";
import { packConfigFor } from "../../scripts/plan/policy-gate";
import { readStackConfig } from "../../scripts/plan/stack-config";
import { toObjects, type K8sObject } from "../components/kubernetes/support/plan";
import { strictValidate, runtimeValidate, validateObjects } from "../components/kubernetes/support/schema";
import { ofType, plan } from "../helpers/plan";

const WITH_INGRESS = ["prod", "gcp-prod", "azure-prod", "local"];
const WITHOUT = ["dev", "gcp-dev", "azure-dev"];
const CLOUD_OF: Record<string, string> = { prod: "aws", "gcp-prod": "gcp", "azure-prod": "azure", local: "local" };
const RELEASE = "kubernetes:helm.sh/v3:Release";

const plans: Record<string, PlanResult> = {};
beforeAll(async () => {
  for (const stack of [...WITH_INGRESS, ...WITHOUT]) plans[stack] = await plan({ stack });
});

/** `mlops:ingress` as the stack file writes it. */
const ingressConfig = (stack: string) => parse(readFileSync(path.resolve(__dirname, `../../Pulumi.${stack}.yaml`), "utf8")).config["mlops:ingress"];
const configuredHosts = (stack: string): string[] => {
  const h = ingressConfig(stack).hosts;
  return [h.mlflow, h.grafana, h.api, ...Object.values(h.serving ?? {})].filter(Boolean) as string[];
};
const objectsOf = (stack: string) => toObjects(plans[stack].resources);
const kinds = (stack: string, kind: string) => objectsOf(stack).filter((o) => o.kind === kind);
const release = (stack: string, chart: string) => ofType(plans[stack], RELEASE).find((r) => r.inputs.chart === chart);
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));

describe.each(WITH_INGRESS)("%s: the entry point", (stack) => {
  test("one Ingress per configured host: TLS covering exactly it with its certificate's Secret, routing by host only, authentication named", () => {
    const ingresses = kinds(stack, "Ingress");
    expect(ingresses.map((i) => i.spec.rules[0].host).sort()).toEqual(configuredHosts(stack).sort());
    for (const i of ingresses) {
      expect(i.spec.rules).toHaveLength(1);
      expect(i.spec.defaultBackend).toBeUndefined();
      expect(i.spec.ingressClassName).toBe(INGRESS_NGINX.className);
      expect(i.spec.tls).toEqual([{ hosts: [i.spec.rules[0].host], secretName: `${i.metadata.name}-tls` }]);
      expect(i.metadata.annotations).toMatchObject({ "nginx.ingress.kubernetes.io/force-ssl-redirect": "true", [AUTHENTICATION_ANNOTATION]: expect.any(String) });
    }
    expect(plans[stack].outputs.publicUrls).toEqual(Object.fromEntries(ingresses.map((i) => [i.metadata.name, `https://${i.spec.rules[0].host}`])));
  });

  test("a Certificate for every host, in its Ingress's namespace, from the stack's ClusterIssuer", () => {
    const acme = stack !== "local";
    const issuerName = acme ? "letsencrypt" : ISSUERS.privateCa;
    for (const i of kinds(stack, "Ingress")) {
      const cert = kinds(stack, "Certificate").find((c) => c.metadata.namespace === i.metadata.namespace && c.spec.secretName === i.spec.tls[0].secretName)!;
      expect(cert.spec).toMatchObject({ dnsNames: [i.spec.rules[0].host], issuerRef: { name: issuerName, kind: "ClusterIssuer" } });
    }
  });

  test("HSTS and the forced redirect in the controller's configuration; prod has no plain-HTTP listener at all", () => {
    const v = release(stack, "ingress-nginx")!.inputs.values.controller;
    expect(v.config).toMatchObject({ hsts: "true", "force-ssl-redirect": "true", "ssl-redirect": "true" });
    const prod = plans[stack].config["mlops:environment"] === "prod";
    expect(Number(v.config["hsts-max-age"])).toBe(prod ? 31536000 : 86400);
    expect(v.service.enableHttp).toBe(!prod);
    expect(release(stack, "ingress-nginx")!.inputs).toMatchObject({ version: INGRESS_NGINX.version, repositoryOpts: { repo: INGRESS_NGINX.repo } });
  });

  test("every object of the entry point is schema-valid (cert-manager's resources by their CRDs' rules)", () => {
    const namespaces: string[] = [INGRESS_NGINX.namespace, CERT_MANAGER.namespace];
    const ours = objectsOf(stack).filter(
      (o) => ["Ingress", "Certificate", "ClusterIssuer"].includes(o.kind) || namespaces.includes(o.metadata.namespace ?? "") || (o.kind === "Namespace" && namespaces.includes(o.metadata.name)),
    );
    expect(ours.map((o) => o.kind)).toEqual(expect.arrayContaining(["Ingress", "Certificate", "ClusterIssuer", "Namespace", "NetworkPolicy"]));
    expect(validateObjects(ours)).toEqual([]);
  });

  test("the policy pack: the public entry point passes endpoints-tls-and-hostname and workloads-no-public-load-balancer at the stack's environment's levels", async () => {
    const environment = plans[stack].config["mlops:environment"];
    const rules = [...endpointsRules.map((r) => r.name), workloadsNoPublicLoadBalancer.name];
    const violations = await runPolicies(allRules, plans[stack].resources, { config: packConfigFor(environment) });
    expect(violations.filter((v) => rules.includes(v.policy))).toEqual([]);
    expect(rules.every((name) => allRules.some((r) => r.name === name))).toBe(true);
  });
});

describe.each(WITHOUT)("%s: no mlops:ingress, nothing exposed", (stack) => {
  test("no controller, no cert-manager, no Ingress, no Certificate; publicUrls empty", () => {
    expect(ingressConfigOrUndefined(stack)).toBeUndefined();
    expect(release(stack, "ingress-nginx")).toBeUndefined();
    expect(release(stack, "cert-manager")).toBeUndefined();
    expect(kinds(stack, "Ingress").concat(kinds(stack, "Certificate"), kinds(stack, "ClusterIssuer"))).toEqual([]);
    expect(plans[stack].outputs.publicUrls).toEqual({});
  });
});

function ingressConfigOrUndefined(stack: string): unknown {
  return parse(readFileSync(path.resolve(__dirname, `../../Pulumi.${stack}.yaml`), "utf8")).config["mlops:ingress"];
}

describe("the issuers: ACME DNS-01 where a zone is configured, the private CA otherwise", () => {
  test.each(["prod", "gcp-prod", "azure-prod"])("%s: Let's Encrypt, the contact e-mail, one DNS-01 solver for the configured zone", (stack) => {
    const c = ingressConfig(stack);
    const issuers = kinds(stack, "ClusterIssuer");
    expect(issuers.map((i) => i.metadata.name)).toEqual(["letsencrypt"]);
    const acme = issuers[0].spec.acme;
    expect(acme).toMatchObject({ server: ACME_SERVERS.letsencrypt, email: c.tls.email, privateKeySecretRef: { name: "letsencrypt-account-key" } });
    expect(acme.solvers).toHaveLength(1);
    expect(acme.solvers[0].selector).toEqual({ dnsZones: [c.dnsZone.name] });
    for (const host of configuredHosts(stack)) expect(host.endsWith(`.${c.dnsZone.name}`)).toBe(true);
  });

  test("local: a self-signed root signs the private CA, which signs the endpoints (what the README names the self-signed issuer)", () => {
    const issuers = kinds("local", "ClusterIssuer");
    expect(issuers.map((i) => [i.metadata.name, Object.keys(i.spec)])).toEqual([
      [ISSUERS.selfSignedRoot, ["selfSigned"]],
      [ISSUERS.privateCa, ["ca"]],
    ]);
    expect(kinds("local", "Certificate").find((c) => c.spec.isCA)!.spec.issuerRef.name).toBe(ISSUERS.selfSignedRoot);
    expect(release("local", "cert-manager")!.inputs.values.serviceAccount.annotations).toBeUndefined();
  });
});

describe("the DNS-01 identity per cloud: only cert-manager's service account, only the zone", () => {
  const solver = (stack: string) => kinds(stack, "ClusterIssuer")[0].spec.acme.solvers[0].dns01;
  const certManagerValues = (stack: string) => release(stack, "cert-manager")!.inputs.values;
  const subject = `system:serviceaccount:${CERT_MANAGER_SERVICE_ACCOUNT.namespace}:${CERT_MANAGER_SERVICE_ACCOUNT.name}`;

  test("AWS: Route53 in the hosted zone, through an IRSA role its service account alone can assume, allowed only TXT _acme-challenge records there", () => {
    const zone = ingressConfig("prod").dnsZone;
    expect(solver("prod")).toEqual({ route53: { region: "us-west-2", hostedZoneID: zone.id } });
    const role = ofType(plans.prod, "aws:iam/role:Role").find((r) => r.name === "mlops-prod-cert-manager-dns-role")!;
    const trust = JSON.parse(role.inputs.assumeRolePolicy);
    expect(Object.values(trust.Statement[0].Condition.StringEquals)).toContain(subject);
    const policy = JSON.parse(ofType(plans.prod, "aws:iam/rolePolicy:RolePolicy").find((r) => r.name === "mlops-prod-cert-manager-dns-policy")!.inputs.policy);
    const write = policy.Statement.find((s: any) => s.Action === "route53:ChangeResourceRecordSets");
    expect(write.Resource).toBe(`arn:aws:route53:::hostedzone/${zone.id}`);
    expect(write.Condition["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsRecordTypes"]).toEqual(["TXT"]);
    expect(policy.Statement.every((s: any) => s.Resource !== "*")).toBe(true);
    expect(certManagerValues("prod").serviceAccount.annotations).toEqual({ "eks.amazonaws.com/role-arn": `arn:aws:iam::123456789012:role/mlops-prod-cert-manager-dns-role` });
  });

  test("GCP: Cloud DNS in the managed zone, as a Google service account only its Kubernetes service account may act as (Workload Identity), granted on that zone only", () => {
    const zone = ingressConfig("gcp-prod").dnsZone;
    const project = plans["gcp-prod"].config["gcp:project"];
    expect(solver("gcp-prod")).toEqual({ cloudDNS: { project, hostedZoneName: zone.id } });
    const binding = ofType(plans["gcp-prod"], "gcp:serviceaccount/iAMMember:IAMMember").find((r) => r.name === "mlops-prod-cert-manager-dns-workload-identity")!;
    expect(binding.inputs).toMatchObject({ role: "roles/iam.workloadIdentityUser", member: `serviceAccount:${project}.svc.id.goog[cert-manager/cert-manager]` });
    const grant = ofType(plans["gcp-prod"], "gcp:dns/dnsManagedZoneIamMember:DnsManagedZoneIamMember");
    expect(grant.map((g) => g.inputs)).toEqual([expect.objectContaining({ project, managedZone: zone.id, role: "roles/dns.admin" })]);
    const account = ofType(plans["gcp-prod"], "gcp:serviceaccount/account:Account").find((r) => r.name === "mlops-prod-cert-manager-dns-sa")!;
    expect(grant[0].inputs.member).toBe(`serviceAccount:${account.state.email}`);
    expect(certManagerValues("gcp-prod").serviceAccount.annotations).toEqual({ "iam.gke.io/gcp-service-account": account.state.email });
    // The NetworkPolicies let cert-manager's controller reach GKE's metadata server ports.
    const policy = kinds("gcp-prod", "NetworkPolicy").find((p) => p.metadata.namespace === "cert-manager" && p.metadata.name === "allow-controller")!;
    expect(JSON.stringify(policy.spec.egress)).toContain('"port":988');
  });

  test("Azure: Azure DNS in the zone, as a managed identity federated with its service account alone, DNS Zone Contributor on that zone only", () => {
    const zone = ingressConfig("azure-prod").dnsZone;
    const [, subscription, group] = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\//.exec(zone.id)!;
    const identity = ofType(plans["azure-prod"], "azure-native:managedidentity:UserAssignedIdentity").find((r) => r.name === "mlops-prod-cert-manager-dns-identity")!;
    expect(solver("azure-prod")).toEqual({
      azureDNS: { subscriptionID: subscription, resourceGroupName: group, hostedZoneName: zone.name, environment: "AzurePublicCloud", managedIdentity: { clientID: identity.state.clientId } },
    });
    const federation = ofType(plans["azure-prod"], "azure-native:managedidentity:FederatedIdentityCredential").find((r) => r.name === "mlops-prod-cert-manager-dns-federation")!;
    expect(federation.inputs).toMatchObject({ subject, audiences: ["api://AzureADTokenExchange"] });
    const grants = ofType(plans["azure-prod"], "azure-native:authorization:RoleAssignment").filter((r) => r.name.startsWith("mlops-prod-cert-manager-dns"));
    expect(grants.map((g) => [g.inputs.scope, String(g.inputs.roleDefinitionId).split("/").pop()])).toEqual([[zone.id, "befefa01-2a29-4197-83a8-272ff33ce314"]]);
    expect(certManagerValues("azure-prod").serviceAccount.annotations).toEqual({ "azure.workload.identity/client-id": identity.state.clientId });
    expect(certManagerValues("azure-prod").podLabels).toEqual({ "azure.workload.identity/use": "true" });
  });

  test("no zone, no identity: the dev stacks and local declare no DNS-01 role, account or identity", () => {
    for (const stack of [...WITHOUT, "local"]) expect(plans[stack].resources.filter((r) => r.name.includes("cert-manager-dns"))).toEqual([]);
  });
});

describe("the load balancer each target gets", () => {
  const service = (stack: string) => release(stack, "ingress-nginx")!.inputs.values.controller.service;

  test("AWS: an internet-facing NLB (in-tree type and the Load Balancer Controller's scheme), host names, the public entry point's reason", () => {
    expect(service("prod")).toMatchObject({ type: "LoadBalancer", enableHttp: false, enableHttps: true });
    expect(service("prod").annotations).toMatchObject({
      "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
      "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
      [HOSTNAME_ANNOTATION]: configuredHosts("prod").join(","),
      [PUBLIC_ENTRY_POINT_ANNOTATION]: expect.any(String),
    });
    expect(service("prod").annotations["service.beta.kubernetes.io/aws-load-balancer-internal"]).toBeUndefined();
  });

  test("GKE: the standard external load balancer (no internal annotation); AKS: its load balancer probing nginx's /healthz", () => {
    expect(service("gcp-prod").annotations["networking.gke.io/load-balancer-type"]).toBeUndefined();
    expect(service("gcp-prod").annotations[PUBLIC_ENTRY_POINT_ANNOTATION]).toEqual(expect.any(String));
    expect(service("azure-prod").annotations).toMatchObject({ "service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path": "/healthz" });
    expect(service("azure-prod").annotations["service.beta.kubernetes.io/azure-load-balancer-internal"]).toBeUndefined();
  });

  test("internal unless configured: the same stacks with public false get each cloud's internal annotation and no entry-point reason", async () => {
    const internal = async (stack: string) => {
      const r = await plan({ stack, overrides: { "mlops:ingress": JSON.stringify({ ...ingressConfig(stack), public: false }) } });
      return ofType(r, RELEASE).find((x) => x.inputs.chart === "ingress-nginx")!.inputs.values.controller.service.annotations;
    };
    expect(await internal("prod")).toMatchObject({ "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal", "service.beta.kubernetes.io/aws-load-balancer-internal": "true" });
    expect(await internal("gcp-prod")).toMatchObject({ "networking.gke.io/load-balancer-type": "Internal" });
    expect(await internal("azure-prod")).toMatchObject({ "service.beta.kubernetes.io/azure-load-balancer-internal": "true" });
    expect((await internal("prod"))[PUBLIC_ENTRY_POINT_ANNOTATION]).toBeUndefined();
  });

  test("kind: the node's ports 80/443 on the ingress-ready node, no load balancer, HTTP only redirects (dev)", () => {
    const c = release("local", "ingress-nginx")!.inputs.values.controller;
    expect(c.hostPort).toEqual({ enabled: true, ports: { http: 80, https: 443 } });
    expect(c.service).toMatchObject({ type: "ClusterIP", enableHttp: true });
    expect(c.nodeSelector).toEqual({ "kubernetes.io/os": "linux", "ingress-ready": "true" });
    // hostPort is refused by the baseline Pod Security level: the controller's namespace is privileged on kind only.
    const ns = kinds("local", "Namespace").find((n) => n.metadata.name === INGRESS_NGINX.namespace)!;
    expect(ns.metadata.labels!["pod-security.kubernetes.io/enforce"]).toBe("privileged");
    expect(kinds("prod", "Namespace").find((n) => n.metadata.name === INGRESS_NGINX.namespace)!.metadata.labels!["pod-security.kubernetes.io/enforce"]).toBe("baseline");
  });
});

describe("authentication in front of every endpoint", () => {
  test.each(WITH_INGRESS)("%s: MLflow keeps basic auth and accepts its public host; Grafana has no anonymous access and knows its public URL", (stack) => {
    const hosts = ingressConfig(stack).hosts;
    const mlflow = kinds(stack, "Deployment").find((d) => d.metadata.name === "mlflow")!.spec.template.spec.containers[0].args;
    expect(mlflow).toContain("--app-name=basic-auth");
    expect(mlflow.find((a: string) => a.startsWith("--allowed-hosts=")).split("=")[1].split(",")).toEqual(expect.arrayContaining([hosts.mlflow, `${hosts.mlflow}:*`]));
    const grafana = release(stack, "kube-prometheus-stack")!.inputs.values.grafana;
    expect(grafana["grafana.ini"]).toMatchObject({ "auth.anonymous": { enabled: false }, users: { allow_sign_up: false }, server: { root_url: `https://${hosts.grafana}/` } });
    expect(grafana.admin.existingSecret).toBeTruthy();
  });
});

describe("the schema check reaches cert-manager's resources", () => {
  let issuer: K8sObject;
  let certificate: K8sObject;
  beforeAll(() => {
    issuer = kinds("prod", "ClusterIssuer")[0];
    certificate = kinds("prod", "Certificate")[0];
  });

  test("a misspelled field fails, named", () => {
    const bad = clone(certificate);
    bad.spec.dnsName = bad.spec.dnsNames;
    expect(strictValidate([bad]).map((p) => p.message).join()).toContain("dnsName");
    const badIssuer = clone(issuer);
    badIssuer.spec.acme.solvers[0].dns01.route53.hostedZoneId = "Z1";
    expect(strictValidate([badIssuer]).map((p) => p.message).join()).toContain("hostedZoneId");
  });

  test("missing required fields, two issuer types, a namespaced ClusterIssuer, a bad duration and a wrong apiVersion fail", () => {
    const noIssuerRef = clone(certificate);
    delete noIssuerRef.spec.issuerRef;
    const twoTypes = clone(issuer);
    twoTypes.spec.selfSigned = {};
    const namespaced = clone(issuer);
    namespaced.metadata.namespace = "default";
    const duration = clone(certificate);
    duration.spec.duration = "90 days";
    const messages = runtimeValidate([noIssuerRef, twoTypes, namespaced, duration]).map((p) => p.message).join("\n");
    expect(messages).toMatch(/issuerRef\.name is required/);
    expect(messages).toMatch(/exactly one issuer type/);
    expect(messages).toMatch(/cluster-scoped/);
    expect(messages).toMatch(/is not a duration/);
    const v1alpha = { ...clone(issuer), apiVersion: "cert-manager.io/v1alpha2" };
    expect(validateObjects([v1alpha]).map((p) => p.message)).toContain("no schema for cert-manager.io/v1alpha2 ClusterIssuer");
  });
});

describe("the config's refusals", () => {
  const raw = (stack: string, ingress: unknown): Record<string, unknown> => {
    const cfg = readStackConfig(stack).config;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(cfg)) if (k.startsWith("mlops:")) out[k.slice(6)] = /^[[{]/.test(v) ? JSON.parse(v) : v;
    return { ...out, ingress };
  };
  const problems = (stack: string, ingress: unknown): string[] => {
    try {
      parseConfig(raw(stack, ingress));
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.problems.filter((p) => p.startsWith("mlops:ingress"));
    }
  };
  const prod = () => clone(ingressConfig("prod"));

  test("the stack files' ingress blocks are valid", () => {
    for (const stack of WITH_INGRESS) expect([stack, problems(stack, ingressConfig(stack))]).toEqual([stack, []]);
  });

  test("prod refuses certificates no client trusts (Let's Encrypt staging)", () => {
    expect(problems("prod", { ...prod(), tls: { issuer: "letsencrypt-staging", email: "ops@acme.example" } })).toEqual([expect.stringMatching(/^mlops:ingress\.tls\.issuer: .*not trusted by any client/)]);
    const devIngress = { hosts: { mlflow: "mlflow.dev.acme.example" }, tls: { issuer: "letsencrypt-staging", email: "ops@acme.example" }, dnsZone: { name: "dev.acme.example", id: "Z0123" } };
    expect(problems("dev", devIngress)).toEqual([]);
  });

  test("there is no plain-HTTP option: an issuer that is not TLS, or an unknown key, is refused", () => {
    expect(problems("prod", { ...prod(), tls: { issuer: "none" } })).toEqual([expect.stringMatching(/^mlops:ingress\.tls\.issuer: got "none"; expected one of "letsencrypt", "letsencrypt-staging", "self-signed"/)]);
    expect(problems("prod", { ...prod(), plainHttp: true })).toEqual([expect.stringMatching(/unknown field\(s\) "plainHttp"/)]);
  });

  test("ACME needs a zone and an e-mail; hosts must lie in the zone; the zone's id is the cloud's", () => {
    expect(problems("prod", { ...prod(), dnsZone: undefined, tls: { issuer: "letsencrypt" } })).toEqual([
      expect.stringMatching(/^mlops:ingress\.tls\.issuer: .*configure mlops:ingress\.dnsZone/),
      expect.stringMatching(/^mlops:ingress\.tls\.email: .*contact e-mail/),
    ]);
    expect(problems("prod", { ...prod(), hosts: { mlflow: "mlflow.other.example" } })).toEqual([expect.stringMatching(/"mlflow\.other\.example" is outside the DNS zone ml\.acme\.example/)]);
    expect(problems("prod", { ...prod(), dnsZone: { name: "ml.acme.example", id: "ml-acme-example" } })).toEqual([expect.stringMatching(/^mlops:ingress\.dnsZone\.id: .*Route53 hosted zone id/)]);
    expect(problems("gcp-prod", { ...ingressConfig("gcp-prod"), dnsZone: { name: "gcp.ml.acme.example", id: "Z0123" } })).toEqual([expect.stringMatching(/Cloud DNS managed zone's name/)]);
    const azure = ingressConfig("azure-prod");
    expect(problems("azure-prod", { ...azure, dnsZone: { ...azure.dnsZone, id: azure.dnsZone.id.replace(/dnszones\/.*/, "dnszones/other.example") } })).toEqual([expect.stringMatching(/names another zone/)]);
    expect(problems("local", { hosts: { mlflow: "mlflow.mlops.localhost" }, tls: { issuer: "self-signed" }, dnsZone: { name: "mlops.localhost", id: "x" } })).toEqual([expect.stringMatching(/has no cloud DNS/)]);
  });

  test("a host for a model that is not served, the same host twice, or no host at all", () => {
    expect(problems("prod", { ...prod(), hosts: { serving: { ghost: "ghost.ml.acme.example" } } })).toEqual([expect.stringMatching(/^mlops:ingress\.hosts\.serving\.ghost: .*not a model of mlops:models/)]);
    expect(problems("prod", { ...prod(), hosts: { mlflow: "x.ml.acme.example", grafana: "x.ml.acme.example" } })).toEqual([expect.stringMatching(/given to two endpoints/)]);
    expect(problems("prod", { ...prod(), hosts: {} })).toEqual([expect.stringMatching(/name at least one endpoint's host/)]);
    expect(problems("prod", { ...prod(), hosts: { mlflow: "MLflow.ML.acme.example" } })[0]).toMatch(/lower-case DNS name/);
  });
});

describe("the policy gate over the seven stacks sees the entry point", () => {
  test("prod's mandatory level refuses an Ingress that lost its TLS, and a controller that listens on plain HTTP", async () => {
    const prod = plans.prod;
    const ingress = prod.resources.find((r) => r.type === "kubernetes:networking.k8s.io/v1:Ingress")!;
    const controller = prod.resources.find((r) => r.type === RELEASE && r.inputs.chart === "ingress-nginx")!;
    const mutated = (target: DeclaredResource, change: (p: any) => void): DeclaredResource[] =>
      prod.resources.map((r) => {
        if (r !== target) return r;
        const copy = structuredClone(r);
        change(copy.inputs);
        change(copy.state);
        return copy;
      });
    // Only what the entry point's rules say (the plan's other resources are other rules' business).
    const violations = async (resources: DeclaredResource[]) =>
      (await runPolicies(allRules, resources, { config: packConfigFor("prod") })).filter((v) => v.level === "mandatory" && ["endpoints-tls-and-hostname", "workloads-no-public-load-balancer"].includes(v.policy));
    expect((await violations(mutated(ingress, (p) => delete p.spec.tls))).map((v) => [v.policy, v.message])).toEqual([
      ["endpoints-tls-and-hostname", expect.stringMatching(/has no TLS \(spec\.tls\)/)],
    ]);
    expect((await violations(mutated(controller, (p) => (p.values.controller.service.enableHttp = true)))).map((v) => v.policy)).toEqual(["endpoints-tls-and-hostname"]);
  });
});
