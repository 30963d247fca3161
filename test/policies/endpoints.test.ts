/**
 * The endpoints area (policies/rules/endpoints/): public endpoints have TLS and a host name. One
 * real-world mistake per case and its fix, the parameter that separates dev from prod, and how the rule
 * works with workloads-no-public-load-balancer on the platform's entry point.
 */
import { endpointsRules } from "../../policies/rules/endpoints";
import { endpointsTlsAndHostname, HOSTNAME_ANNOTATION, tlsCovers } from "../../policies/rules/endpoints/tls-and-hostname";
import { workloadsNoPublicLoadBalancer } from "../../policies/rules/workloads/no-public-load-balancer";
import { PUBLIC_ENTRY_POINT_ANNOTATION } from "../../policies/rules/workloads/services";
import { PUBLIC_ENTRY_POINT_ANNOTATION as COMPONENT_ANNOTATION } from "../../components/kubernetes/ingress";
import { check, messages, resource, SERVICE, UNKNOWN } from "../helpers/policy-engine";
import { runCases, type RuleCase } from "./support/cases";

const INGRESS = "kubernetes:networking.k8s.io/v1:Ingress";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const HOST = "mlflow.ml.example.com";

const ingress = (spec: Record<string, any>, annotations: Record<string, string> = {}) =>
  resource(INGRESS, { metadata: { name: "mlflow", namespace: "mlops", annotations }, spec: { ingressClassName: "nginx", ...spec } });
const rule = (host?: string) => ({ ...(host ? { host } : {}), http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "mlflow", port: { number: 5000 } } } }] } });
const tls = (hosts: string[], secretName: string | null = "mlflow-tls") => ({ hosts, ...(secretName ? { secretName } : {}) });
const goodIngress = () => ingress({ tls: [tls([HOST])], rules: [rule(HOST)] });

const lb = (annotations: Record<string, string>, ports: Record<string, any>[] = [{ name: "https", port: 443 }]) =>
  resource(SERVICE, { metadata: { name: "gateway", namespace: "edge", annotations }, spec: { type: "LoadBalancer", selector: { app: "gateway" }, ports } });
/** ingress-nginx's values as components/kubernetes/ingress.ts writes them, with changes. */
const controller = (change: (c: Record<string, any>) => void = () => {}) => {
  const values = {
    controller: {
      config: { hsts: "true", "force-ssl-redirect": "true", "ssl-redirect": "true" },
      service: { type: "LoadBalancer", enableHttp: false, enableHttps: true, annotations: { [HOSTNAME_ANNOTATION]: HOST, [PUBLIC_ENTRY_POINT_ANNOTATION]: "the TLS entry point" } },
    },
  };
  change(values.controller);
  return resource(RELEASE, { chart: "ingress-nginx", version: "4.14.3", namespace: "ingress-nginx", values }, { name: "ingress-nginx" });
};

const cases: RuleCase[] = [
  {
    rule: endpointsTlsAndHostname,
    mistake: "an Ingress without TLS",
    bad: () => [ingress({ rules: [rule(HOST)] })],
    expected: /Ingress "mlops\/mlflow" has no TLS \(spec\.tls\)/,
    good: () => [goodIngress()],
  },
  {
    rule: endpointsTlsAndHostname,
    mistake: "an Ingress answering any host name (a host-less rule, a default backend)",
    bad: () => [ingress({ tls: [tls([HOST])], rules: [rule()], defaultBackend: { service: { name: "mlflow", port: { number: 5000 } } } })],
    expected: /has a defaultBackend: it answers any host name[\s\S]*spec\.rules\[0\] has no host/,
    good: () => [goodIngress()],
  },
  {
    rule: endpointsTlsAndHostname,
    mistake: "a host outside every TLS entry, a TLS entry without its Secret, the redirect turned off",
    bad: () => [
      ingress({ tls: [tls([HOST]), tls(["other.example.com"], null)], rules: [rule(HOST), rule("grafana.ml.example.com")] }, { "nginx.ingress.kubernetes.io/ssl-redirect": "false" }),
    ],
    expected: /spec\.tls\[1\] names no secretName[\s\S]*host "grafana\.ml\.example\.com" is not in any spec\.tls\[\]\.hosts[\s\S]*ssl-redirect: "false"/,
    // A wildcard certificate covers every name one label below it.
    good: () => [ingress({ tls: [tls(["*.ml.example.com"], "wildcard-tls")], rules: [rule(HOST), rule("grafana.ml.example.com")] })],
  },
  {
    rule: endpointsTlsAndHostname,
    mistake: "a public LoadBalancer Service serving plain HTTP without a host name",
    bad: () => [lb({}, [{ name: "http", port: 80 }, { name: "https", port: 443 }])],
    expected: /public LoadBalancer Service "edge\/gateway" names no host name[\s\S]*listens on 80 without TLS/,
    good: () => [
      lb({ [HOSTNAME_ANNOTATION]: "api.example.com" }),
      // TLS terminated on the load balancer (AWS): every port is a TLS listener.
      lb({ [HOSTNAME_ANNOTATION]: "api.example.com", "service.beta.kubernetes.io/aws-load-balancer-ssl-cert": "arn:aws:acm:us-west-2:123456789012:certificate/x" }, [{ port: 8443 }]),
      // Internal load balancers are not public endpoints.
      lb({ "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal" }, [{ port: 80 }]),
    ],
  },
  {
    rule: endpointsTlsAndHostname,
    mistake: "a public ingress controller from a chart with a plain-HTTP listener, HSTS off and no host names",
    bad: () => [
      controller((c) => {
        c.service.enableHttp = true;
        c.config.hsts = "false";
        delete c.service.annotations[HOSTNAME_ANNOTATION];
      }),
    ],
    expected: /controller\.service \(a public LoadBalancer\) names no host name[\s\S]*turns HSTS off[\s\S]*listens on plain HTTP: set enableHttp: false/,
    good: () => [controller()],
  },
  {
    rule: endpointsTlsAndHostname,
    mistake: "Grafana put on the internet by its chart's Service (no TLS anywhere)",
    bad: () => [resource(RELEASE, { chart: "kube-prometheus-stack", version: "79.12.0", values: { grafana: { service: { type: "LoadBalancer", annotations: { [HOSTNAME_ANNOTATION]: "grafana.example.com" } } } } })],
    expected: /grafana\.service \(a public LoadBalancer\) is a public LoadBalancer that is not an ingress controller terminating TLS/,
    good: () => [resource(RELEASE, { chart: "kube-prometheus-stack", version: "79.12.0", values: { grafana: { service: { type: "ClusterIP" } } } })],
  },
];

runCases("endpoints", endpointsRules, cases);

describe("endpoints-tls-and-hostname: dev and prod", () => {
  test("with allowHttpRedirect (dev) an ingress controller may keep port 80 when it forces the redirect; without it (prod, the default), never", async () => {
    const redirecting = controller((c) => (c.service.enableHttp = true));
    expect(messages(await check(endpointsTlsAndHostname, [redirecting], { allowHttpRedirect: true }))).toEqual([]);
    expect(messages(await check(endpointsTlsAndHostname, [redirecting]))).toEqual([expect.stringMatching(/listens on plain HTTP: set enableHttp: false .*not even a redirect/)]);
    const notRedirecting = controller((c) => {
      c.service.enableHttp = true;
      c.config["force-ssl-redirect"] = "false";
    });
    expect(messages(await check(endpointsTlsAndHostname, [notRedirecting], { allowHttpRedirect: true }))).toEqual([expect.stringMatching(/without forcing the redirect to HTTPS/)]);
  });

  test("an internal load balancer in a chart and a private Service are not its business", async () => {
    const internal = controller((c) => {
      c.service.enableHttp = true;
      c.service.annotations = { "networking.gke.io/load-balancer-type": "Internal" };
    });
    expect(messages(await check(endpointsTlsAndHostname, [internal, resource(SERVICE, { metadata: { name: "x", namespace: "y" }, spec: { type: "ClusterIP", ports: [{ port: 80 }] } })]))).toEqual([]);
  });

  test("a host not known during preview cannot pass unverified", async () => {
    const unknownHost = ingress({ tls: [tls([UNKNOWN])], rules: [rule(UNKNOWN)] });
    expect(messages(await check(endpointsTlsAndHostname, [unknownHost]))).toEqual([expect.stringMatching(/cannot be verified until/)]);
  });

  test("TLS hosts: the same name, or a wildcard one label deep", () => {
    expect([tlsCovers("a.example.com", "a.example.com"), tlsCovers("*.example.com", "a.example.com"), tlsCovers("*.example.com", "a.b.example.com"), tlsCovers("*.example.com", "example.com")]).toEqual([true, true, false, false]);
  });
});

describe("the platform's entry point between the two rules", () => {
  test("workloads-no-public-load-balancer admits a public LoadBalancer that states why it is the entry point; endpoints-tls-and-hostname then holds it to TLS", async () => {
    expect(PUBLIC_ENTRY_POINT_ANNOTATION).toBe(COMPONENT_ANNOTATION);
    const entry = controller();
    expect(messages(await check(workloadsNoPublicLoadBalancer, [entry]))).toEqual([]);
    expect(messages(await check(endpointsTlsAndHostname, [entry]))).toEqual([]);
    const withoutReason = controller((c) => delete c.service.annotations[PUBLIC_ENTRY_POINT_ANNOTATION]);
    expect(messages(await check(workloadsNoPublicLoadBalancer, [withoutReason]))).toEqual([expect.stringMatching(/makes controller\.service a public LoadBalancer/)]);
    const plainEntry = controller((c) => (c.service.enableHttp = true));
    expect(messages(await check(workloadsNoPublicLoadBalancer, [plainEntry]))).toEqual([]);
    expect(messages(await check(endpointsTlsAndHostname, [plainEntry])).length).toBe(1);
    // A declared Service too: the reason admits it, TLS and the host name are still required of it.
    const declared = lb({ [PUBLIC_ENTRY_POINT_ANNOTATION]: "edge gateway" }, [{ port: 80 }]);
    expect(messages(await check(workloadsNoPublicLoadBalancer, [declared]))).toEqual([]);
    expect(messages(await check(endpointsTlsAndHostname, [declared]))).toEqual([expect.stringMatching(/names no host name/), expect.stringMatching(/listens on 80 without TLS/)]);
  });
});
