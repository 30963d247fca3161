/**
 * Schemas of the cert-manager custom resources the platform declares (cert-manager.io/v1 ClusterIssuer
 * and Certificate, as the pinned chart's CRDs define them): kubernetes-models ships none.
 *
 * The schema check (../schema.ts) uses this module like a kubernetes-models one: the `I<Kind>`
 * interfaces for the strict TypeScript check (every field of the CRDs at these paths, so a misspelled
 * field fails the excess-property check), and `validate()` of the class named after the kind at run
 * time (`validateCertManagerObject`): the CRDs' required fields, "exactly one of" choices, names,
 * durations and key sizes, which types cannot say.
 */

interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface LocalObjectReference {
  name: string;
  key?: string;
}

interface IssuerRef {
  name: string;
  kind?: "Issuer" | "ClusterIssuer" | string;
  group?: string;
}

export interface ICertificate {
  apiVersion: "cert-manager.io/v1";
  kind: "Certificate";
  metadata: ObjectMeta;
  spec: {
    secretName: string;
    issuerRef: IssuerRef;
    commonName?: string;
    dnsNames?: string[];
    ipAddresses?: string[];
    uris?: string[];
    emailAddresses?: string[];
    otherNames?: { oid?: string; utf8Value?: string }[];
    duration?: string;
    renewBefore?: string;
    renewBeforePercentage?: number;
    isCA?: boolean;
    usages?: string[];
    encodeUsagesInRequest?: boolean;
    revisionHistoryLimit?: number;
    literalSubject?: string;
    subject?: {
      organizations?: string[];
      countries?: string[];
      organizationalUnits?: string[];
      localities?: string[];
      provinces?: string[];
      streetAddresses?: string[];
      postalCodes?: string[];
      serialNumber?: string;
    };
    privateKey?: { algorithm?: "RSA" | "ECDSA" | "Ed25519"; size?: number; encoding?: "PKCS1" | "PKCS8"; rotationPolicy?: "Never" | "Always" };
    secretTemplate?: { annotations?: Record<string, string>; labels?: Record<string, string> };
    keystores?: Record<string, unknown>;
    nameConstraints?: Record<string, unknown>;
    additionalOutputFormats?: { type: "DER" | "CombinedPEM" }[];
  };
}

interface Route53 {
  region?: string;
  hostedZoneID?: string;
  role?: string;
  accessKeyID?: string;
  accessKeyIDSecretRef?: LocalObjectReference;
  secretAccessKeySecretRef?: LocalObjectReference;
  auth?: { kubernetes: { serviceAccountRef: { name: string; audiences?: string[] } } };
}

interface CloudDns {
  project: string;
  hostedZoneName?: string;
  serviceAccountSecretRef?: LocalObjectReference;
}

interface AzureDns {
  subscriptionID: string;
  resourceGroupName: string;
  hostedZoneName?: string;
  environment?: "AzurePublicCloud" | "AzureChinaCloud" | "AzureGermanCloud" | "AzureUSGovernmentCloud";
  managedIdentity?: { clientID?: string; resourceID?: string; tenantID?: string };
  clientID?: string;
  clientSecretSecretRef?: LocalObjectReference;
  tenantID?: string;
}

interface Dns01Solver {
  cnameStrategy?: "None" | "Follow";
  route53?: Route53;
  cloudDNS?: CloudDns;
  azureDNS?: AzureDns;
  acmeDNS?: Record<string, unknown>;
  akamai?: Record<string, unknown>;
  cloudflare?: Record<string, unknown>;
  digitalocean?: Record<string, unknown>;
  rfc2136?: Record<string, unknown>;
  webhook?: Record<string, unknown>;
}

interface AcmeSolver {
  selector?: { dnsNames?: string[]; dnsZones?: string[]; matchLabels?: Record<string, string> };
  dns01?: Dns01Solver;
  http01?: Record<string, unknown>;
}

interface IssuerSpec {
  acme?: {
    server: string;
    privateKeySecretRef: LocalObjectReference;
    email?: string;
    solvers?: AcmeSolver[];
    preferredChain?: string;
    profile?: string;
    caBundle?: string;
    skipTLSVerify?: boolean;
    disableAccountKeyGeneration?: boolean;
    enableDurationFeature?: boolean;
    externalAccountBinding?: Record<string, unknown>;
  };
  ca?: { secretName: string; crlDistributionPoints?: string[]; issuingCertificateURLs?: string[]; ocspServers?: string[] };
  selfSigned?: { crlDistributionPoints?: string[] };
  vault?: Record<string, unknown>;
  venafi?: Record<string, unknown>;
}

export interface IClusterIssuer {
  apiVersion: "cert-manager.io/v1";
  kind: "ClusterIssuer";
  metadata: ObjectMeta;
  spec: IssuerSpec;
}

export const CERT_MANAGER_KINDS = ["Certificate", "ClusterIssuer"];

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const ISSUER_TYPES = ["acme", "ca", "selfSigned", "vault", "venafi"];
const DNS01_PROVIDERS = ["route53", "cloudDNS", "azureDNS", "acmeDNS", "akamai", "cloudflare", "digitalocean", "rfc2136", "webhook"];

function hours(duration: string): number {
  const units: Record<string, number> = { ns: 1e-9 / 3600, us: 1e-6 / 3600, µs: 1e-6 / 3600, ms: 1e-3 / 3600, s: 1 / 3600, m: 1 / 60, h: 1 };
  return [...duration.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)].reduce((sum, [, n, unit]) => sum + Number(n) * units[unit], 0);
}

/** What the CRDs (and cert-manager's validating webhook) refuse, beyond field names and types; empty when valid. */
export function validateCertManagerObject(o: Record<string, any>): string[] {
  const problems: string[] = [];
  if (o.apiVersion !== "cert-manager.io/v1") problems.push(`apiVersion must be cert-manager.io/v1, got ${JSON.stringify(o.apiVersion)}`);
  if (!CERT_MANAGER_KINDS.includes(o.kind)) problems.push(`no schema for cert-manager kind ${JSON.stringify(o.kind)}`);
  const name = o.metadata?.name;
  if (typeof name !== "string" || !DNS1123_SUBDOMAIN.test(name) || name.length > 253) problems.push(`metadata.name ${JSON.stringify(name)} is not a DNS subdomain`);
  const spec = o.spec;
  if (!spec || typeof spec !== "object") return [...problems, "spec is required"];

  if (o.kind === "ClusterIssuer") {
    if (o.metadata?.namespace) problems.push("a ClusterIssuer is cluster-scoped: metadata.namespace must be unset");
    const types = ISSUER_TYPES.filter((t) => spec[t] !== undefined);
    if (types.length !== 1) problems.push(`spec must set exactly one issuer type of ${ISSUER_TYPES.join(", ")}, got ${types.join(", ") || "none"}`);
    if (spec.acme) {
      if (typeof spec.acme.server !== "string" || !/^https:\/\//.test(spec.acme.server)) problems.push("spec.acme.server must be an https URL");
      if (!spec.acme.privateKeySecretRef?.name) problems.push("spec.acme.privateKeySecretRef.name is required");
      (spec.acme.solvers ?? []).forEach((solver: Record<string, any>, i: number) => {
        const kinds = ["dns01", "http01"].filter((k) => solver[k] !== undefined);
        if (kinds.length !== 1) problems.push(`spec.acme.solvers[${i}] must set exactly one of dns01, http01`);
        if (solver.dns01) {
          const providers = DNS01_PROVIDERS.filter((p) => solver.dns01[p] !== undefined);
          if (providers.length !== 1) problems.push(`spec.acme.solvers[${i}].dns01 must set exactly one provider, got ${providers.join(", ") || "none"}`);
          if (solver.dns01.cloudDNS && !solver.dns01.cloudDNS.project) problems.push(`spec.acme.solvers[${i}].dns01.cloudDNS.project is required`);
          const azure = solver.dns01.azureDNS;
          if (azure && (!azure.subscriptionID || !azure.resourceGroupName)) problems.push(`spec.acme.solvers[${i}].dns01.azureDNS needs subscriptionID and resourceGroupName`);
        }
      });
    }
    if (spec.ca && !spec.ca.secretName) problems.push("spec.ca.secretName is required");
  }

  if (o.kind === "Certificate") {
    if (!o.metadata?.namespace) problems.push("a Certificate is namespaced: metadata.namespace is required");
    if (!spec.secretName || !DNS1123_SUBDOMAIN.test(spec.secretName)) problems.push(`spec.secretName ${JSON.stringify(spec.secretName)} must name a Secret`);
    if (!spec.issuerRef?.name) problems.push("spec.issuerRef.name is required");
    if (spec.issuerRef?.group !== undefined && spec.issuerRef.group !== "cert-manager.io") problems.push(`spec.issuerRef.group ${spec.issuerRef.group} is not cert-manager.io`);
    const identities = ["commonName", "dnsNames", "ipAddresses", "uris", "emailAddresses", "literalSubject", "otherNames"].filter((k) => spec[k] !== undefined && (!Array.isArray(spec[k]) || spec[k].length));
    if (!identities.length) problems.push("spec needs at least one of commonName, dnsNames, ipAddresses, uris, emailAddresses");
    for (const key of ["duration", "renewBefore"]) {
      if (spec[key] !== undefined && !GO_DURATION.test(spec[key])) problems.push(`spec.${key} ${JSON.stringify(spec[key])} is not a duration (e.g. 2160h)`);
    }
    if (spec.duration && hours(spec.duration) < 1) problems.push("spec.duration must be at least 1h");
    if (spec.duration && spec.renewBefore && hours(spec.renewBefore) >= hours(spec.duration)) problems.push("spec.renewBefore must be shorter than spec.duration");
    const key = spec.privateKey;
    if (key?.algorithm === "ECDSA" && key.size !== undefined && ![256, 384, 521].includes(key.size)) problems.push(`ECDSA keys are 256, 384 or 521 bits, not ${key.size}`);
    if ((key?.algorithm ?? "RSA") === "RSA" && key?.size !== undefined && (key.size < 2048 || key.size > 8192)) problems.push(`RSA keys are 2048 to 8192 bits, not ${key.size}`);
    for (const host of spec.dnsNames ?? []) if (!/^(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(host)) problems.push(`spec.dnsNames: "${host}" is not a DNS name`);
  }
  return problems;
}

function validator(kind: string) {
  return class {
    constructor(readonly data: Record<string, any>) {}
    validate(): void {
      const problems = validateCertManagerObject(this.data);
      if (problems.length) throw new Error(`${kind} is invalid:\n  ${problems.join("\n  ")}`);
    }
  };
}

export const Certificate = validator("Certificate");
export const ClusterIssuer = validator("ClusterIssuer");
