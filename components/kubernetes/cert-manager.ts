import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Dns01Support, Toleration } from "../contracts";
import { pinnedRelease } from "./helm-release";
import { recommendedLabels } from "./labels";
import { createNamespace } from "./namespaces";
import { NetworkPolicies, type Flow, type Peer, type Port } from "./network-policies";
import type { ResourceSpec } from "./pod";

/**
 * The pinned cert-manager chart (jetstack). Its chart versions carry the `v` of the app version. Bump
 * here, read the release's upgrade notes, run the tests. CRDs come from the chart's templates
 * (`crds.enabled`) and are kept when the release is removed (`crds.keep`), so removing cert-manager
 * never deletes every Certificate of the cluster.
 */
export const CERT_MANAGER = {
  chart: "cert-manager",
  version: "v1.20.2",
  repo: "https://charts.jetstack.io",
  release: "cert-manager",
  namespace: "cert-manager",
} as const;

/**
 * The service account cert-manager's controller runs as (the chart names it after the release): a
 * cloud's DNS-01 identity trusts exactly this one (infra/clouds/<cloud>/foundation.ts).
 */
export const CERT_MANAGER_SERVICE_ACCOUNT = { namespace: CERT_MANAGER.namespace, name: CERT_MANAGER.release } as const;

/** Let's Encrypt's ACME directories: production, and staging (untrusted certificates, generous rate limits; refused in prod). */
export const ACME_SERVERS = {
  letsencrypt: "https://acme-v02.api.letsencrypt.org/directory",
  "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
} as const;
export type AcmeIssuer = keyof typeof ACME_SERVERS;

/** The issuer the stack's certificates come from: ACME (Let's Encrypt) with DNS-01, or the platform's own private CA. */
export type TlsIssuer = { kind: "acme"; server: AcmeIssuer; email: string } | { kind: "self-signed" };

/** Names of the ClusterIssuers (and the private CA's Secret) this component declares. */
export const ISSUERS = {
  /** The bootstrap issuer: it signs the private CA's own certificate, nothing else. */
  selfSignedRoot: "mlops-selfsigned-root",
  /** The private CA (`self-signed`): a CA certificate signed by itself, then signing every endpoint's certificate. */
  privateCa: "mlops-private-ca",
  privateCaSecret: "mlops-private-ca",
} as const;

export interface CertManagerArgs {
  kubernetesVersion: string;
  issuer: TlsIssuer;
  /** The foundation's DNS-01 support: required by an ACME issuer (the cloud identity and the solver). */
  dns01?: Dns01Support;
  /** The foundation's tolerations: cert-manager's pods carry them too. */
  tolerations?: Toleration[];
  resources: ResourceSpec;
}

const ACME_ACCOUNT_KEY_SECRET = "letsencrypt-account-key";

/**
 * cert-manager from its chart (CRDs included), in its own namespace (restricted Pod Security,
 * default-deny NetworkPolicies plus the flows it needs), and the ClusterIssuer every platform
 * certificate names: ACME (Let's Encrypt) answering DNS-01 challenges in the foundation's zone with the
 * cloud's workload identity, or, without a zone, a private CA (a self-signed root that signs one CA
 * certificate, which signs the endpoints'): TLS all the same, trusted only by clients given its
 * certificate (`kubectl -n cert-manager get secret mlops-private-ca -o jsonpath='{.data.ca\.crt}'`).
 */
export class CertManager extends pulumi.ComponentResource {
  readonly release: k8s.helm.v3.Release;
  /** The ClusterIssuer the endpoints' Certificates name. */
  readonly issuerName: string;
  /** What a Certificate waits for: the ClusterIssuer (and, for the private CA, its certificate). */
  readonly issuerReady: pulumi.Resource[];

  constructor(name: string, args: CertManagerArgs, opts?: pulumi.ComponentResourceOptions) {
    if (args.issuer.kind === "acme" && !args.dns01) {
      throw new Error(`cert-manager: the ACME issuer ${args.issuer.server} answers DNS-01 challenges, but the foundation has no DNS-01 support (foundation.ingress.dns01): configure a DNS zone, or use the self-signed issuer`);
    }
    super("mlops:kubernetes:CertManager", name, {}, opts);
    const parent = { parent: this };
    const ns = CERT_MANAGER.namespace;
    const labels = (instance: string, component: string) => recommendedLabels({ name: "cert-manager", instance, component });

    const namespace = createNamespace({ name: ns, enforce: "restricted", warn: "restricted", kubernetesVersion: args.kubernetesVersion }, parent);
    const policies = new NetworkPolicies(`${name}-policies`, { namespace: namespace.metadata.name, namespaceName: ns, flows: certManagerFlows(args.dns01) }, parent);

    this.release = pinnedRelease(
      `${name}-release`,
      { pin: CERT_MANAGER, namespace: namespace.metadata.name, createNamespace: false, values: certManagerValues(args) },
      { ...parent, dependsOn: [policies] },
    );

    const afterRelease = { ...parent, dependsOn: [this.release] };
    if (args.issuer.kind === "acme") {
      const dns01 = args.dns01!;
      this.issuerName = args.issuer.server;
      const issuer = new k8s.apiextensions.CustomResource(
        `${name}-${this.issuerName}`,
        {
          apiVersion: "cert-manager.io/v1",
          kind: "ClusterIssuer",
          metadata: { name: this.issuerName, labels: labels(this.issuerName, "certificate-issuer") },
          spec: {
            acme: {
              server: ACME_SERVERS[args.issuer.server],
              email: args.issuer.email,
              privateKeySecretRef: { name: args.issuer.server === "letsencrypt" ? ACME_ACCOUNT_KEY_SECRET : `${ACME_ACCOUNT_KEY_SECRET}-staging` },
              solvers: [{ selector: { dnsZones: [dns01.zone] }, dns01: dns01.solver }],
            },
          },
        },
        afterRelease,
      );
      this.issuerReady = [issuer];
    } else {
      this.issuerName = ISSUERS.privateCa;
      const root = new k8s.apiextensions.CustomResource(
        `${name}-selfsigned-root`,
        {
          apiVersion: "cert-manager.io/v1",
          kind: "ClusterIssuer",
          metadata: { name: ISSUERS.selfSignedRoot, labels: labels(ISSUERS.selfSignedRoot, "certificate-issuer") },
          spec: { selfSigned: {} },
        },
        afterRelease,
      );
      // A ClusterIssuer of type CA reads its key pair from cert-manager's own namespace.
      const caCertificate = new k8s.apiextensions.CustomResource(
        `${name}-private-ca-certificate`,
        {
          apiVersion: "cert-manager.io/v1",
          kind: "Certificate",
          metadata: { name: ISSUERS.privateCa, namespace: namespace.metadata.name, labels: labels(ISSUERS.privateCa, "certificate-authority") },
          spec: {
            isCA: true,
            commonName: "MLOps platform private CA",
            secretName: ISSUERS.privateCaSecret,
            duration: "87600h",
            renewBefore: "720h",
            privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
            issuerRef: { name: ISSUERS.selfSignedRoot, kind: "ClusterIssuer", group: "cert-manager.io" },
          },
        },
        { ...parent, dependsOn: [this.release, root] },
      );
      const ca = new k8s.apiextensions.CustomResource(
        `${name}-private-ca`,
        {
          apiVersion: "cert-manager.io/v1",
          kind: "ClusterIssuer",
          metadata: { name: ISSUERS.privateCa, labels: labels(ISSUERS.privateCa, "certificate-issuer") },
          spec: { ca: { secretName: ISSUERS.privateCaSecret } },
        },
        { ...parent, dependsOn: [this.release, caCertificate] },
      );
      this.issuerReady = [ca, caCertificate];
    }
    this.registerOutputs({ issuerName: this.issuerName });
  }
}

/** The chart's values: only what differs from its defaults, each for a stated reason. */
export function certManagerValues(args: Pick<CertManagerArgs, "dns01" | "tolerations" | "resources">): Record<string, unknown> {
  const identity = args.dns01?.identity;
  const tolerations = args.tolerations?.length ? { tolerations: args.tolerations.map((t) => ({ ...t })) } : {};
  const resources = {
    requests: { cpu: args.resources.cpuRequest, memory: args.resources.memoryRequest },
    limits: { cpu: args.resources.cpuLimit, memory: args.resources.memoryLimit },
  };
  return {
    fullnameOverride: CERT_MANAGER.release,
    crds: { enabled: true, keep: true },
    // Leader election in its own namespace: the controller needs no rights in kube-system.
    global: { leaderElection: { namespace: CERT_MANAGER.namespace } },
    // The DNS-01 identity: the cloud trusts this service account (IRSA role, GKE service account, Azure
    // client id); Azure's webhook injects the token only into pods carrying its label.
    serviceAccount: { create: true, name: CERT_MANAGER_SERVICE_ACCOUNT.name, ...(identity ? { annotations: identity.serviceAccountAnnotations } : {}) },
    ...(identity ? { podLabels: identity.podLabels } : {}),
    // A group the projected identity token (IRSA, Azure) is readable by: merged into the chart's pod
    // securityContext (runAsNonRoot, RuntimeDefault seccomp stay).
    securityContext: { fsGroup: 1001 },
    resources,
    ...tolerations,
    webhook: { resources, ...tolerations },
    cainjector: { resources, ...tolerations },
    startupapicheck: { ...tolerations },
  };
}

const tcp = (...ports: number[]): Port[] => ports.map((port) => ({ port, protocol: "TCP" as const }));

/**
 * cert-manager's connections: the API server calls its webhook; every pod reads and writes the API;
 * the controller reaches the ACME server and the cloud's DNS API (443), the cloud's token endpoint, and
 * queries the zone's authoritative name servers (53) to see a challenge record has propagated.
 */
export function certManagerFlows(dns01?: Dns01Support): Flow[] {
  const ns = CERT_MANAGER.namespace;
  const pods = (podName: string, selector: Record<string, string>): Peer => ({ kind: "pods", name: podName, namespace: ns, selector });
  const all = pods("all-pods", {});
  const controller = pods("controller", { "app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/component": "controller" });
  const webhook = pods("webhook", { "app.kubernetes.io/name": "webhook", "app.kubernetes.io/component": "webhook" });
  const kubeDns: Peer = { kind: "pods", name: "kube-dns", namespace: "kube-system", selector: { "k8s-app": "kube-dns" } };
  const anywhere: Peer = { kind: "anywhere", name: "anywhere" };
  const dnsPorts: Port[] = [
    { port: 53, protocol: "UDP" },
    { port: 53, protocol: "TCP" },
  ];
  return [
    { from: all, to: kubeDns, ports: dnsPorts, why: "name resolution" },
    { from: all, to: anywhere, ports: tcp(443, 6443), why: "the Kubernetes API (and, for the controller, the ACME server and the cloud's DNS API)" },
    { from: anywhere, to: webhook, ports: tcp(10250), why: "the API server calls the admission webhook (the chart's securePort)" },
    { from: controller, to: anywhere, ports: dnsPorts, why: "DNS-01 propagation checks against the zone's authoritative name servers" },
    ...(dns01?.tokenEndpointPorts?.length ? [{ from: controller, to: anywhere, ports: tcp(...dns01.tokenEndpointPorts), why: "the cloud's token endpoint (workload identity)" }] : []),
  ];
}
