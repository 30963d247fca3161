import { resourceRule } from "../support/define";
import { cisKubernetes } from "../support/frameworks";
import { describeContainer } from "../support/kubernetes";
import { forWorkloads } from "../support/workloads";

/**
 * URLs that carry a credential: user info (`https://user:pass@host`, `https://<token>@host`) or a
 * query parameter named like one (`?token=`, `&sig=`, `?api_key=`). Webhook and callback URLs often
 * do (a CI trigger token, a SAS signature, a Slack hook key); in a container's plain environment they
 * end up in the object's spec, `kubectl describe`, the Pulumi state and CI logs.
 */

/** Every `scheme://...` in a value: a single URL, a comma list (EVENT_SINKS, WEBHOOK_URLS) or JSON holding urls (ALERT_ACTIONS). */
const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s,"'<>\\]+/gi;
/** `scheme://userinfo@host`: the user info ends at the first `@` of the authority (before any `/`, `?`, `#`). */
const USER_INFO = /^[a-z][a-z0-9+.-]*:\/\/([^/?#@]+)@/i;
/** Words of a query parameter name that make it a credential. */
const CREDENTIAL_WORDS = new Set(["token", "key", "apikey", "secret", "password", "passwd", "pwd", "sig", "signature", "credential", "credentials"]);
/** `$(VAR)`: the kubelet expands it from the container's env (which may come from a Secret); the spec holds no credential. */
const ENV_EXPANSION = /^\$\([A-Za-z_][A-Za-z0-9_]*\)$/;

/** `access_token`, `X-Amz-Signature`, `apiKey` -> ["access", "token"], ["x", "amz", "signature"], ["api", "key"]. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

export function isCredentialParameter(name: string): boolean {
  return words(name).some((w) => CREDENTIAL_WORDS.has(w));
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

/** A URL's scheme and host only, so a message never repeats the credential it reports. */
function origin(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(?:[^/?#@]*@)?([^/?#]*)/i.exec(url);
  return m ? `${m[1]}${m[2]}` : "a URL";
}

/** Why a URL carries a credential, or undefined. */
export function urlCredential(url: string): string | undefined {
  const userInfo = USER_INFO.exec(url)?.[1];
  if (userInfo && !ENV_EXPANSION.test(decoded(userInfo.split(":").pop() ?? ""))) return "user info (scheme://user:password@host)";
  const query = url.split("#")[0].split("?").slice(1).join("?");
  for (const pair of query.split(/[&;]/)) {
    const [name, ...rest] = pair.split("=");
    const value = decoded(rest.join("="));
    if (name && value && !ENV_EXPANSION.test(value) && isCredentialParameter(decoded(name))) return `the query parameter "${decoded(name)}"`;
  }
  return undefined;
}

/** Each URL with a credential in a text, as `<origin> (<why>)`. */
export function credentialUrlsIn(text: string): string[] {
  return [...text.matchAll(URL_IN_TEXT)].flatMap(([url]) => {
    const why = urlCredential(url);
    return why ? [`${origin(url)}... carries ${why}`] : [];
  });
}

export const workloadsNoCredentialUrls = resourceRule(
  {
    name: "workloads-no-credential-urls",
    description:
      "No URL in a container's plain environment (env[].value of Deployments, StatefulSets, DaemonSets, Jobs, CronJobs and Pods, init containers included) carries a credential: neither user info (scheme://user:password@host, https://<token>@host) nor a query parameter named like a credential (token, key, secret, password, sig, signature, access_token...). Webhook and callback URLs often embed one; as a literal it is readable in the object's spec, `kubectl describe`, the Pulumi state and CI logs, so the whole URL comes from a Secret (valueFrom.secretKeyRef).",
    severity: "critical",
    framework: cisKubernetes("5.4.1 Prefer using Secrets as files over Secrets as environment variables; never literals (URLs carrying tokens or passwords)"),
    clouds: ["kubernetes"],
    enforcementLevel: "mandatory",
    remediationSteps:
      "Put the whole URL in a Kubernetes Secret (from the stack config as a Pulumi secret: `pulumi config set --secret --path ...`) and read it with env[].valueFrom.secretKeyRef; or send the credential in a header from a Secret instead of the URL.",
  },
  forWorkloads((workload, _args, report) => {
    for (const ref of workload.containers) {
      for (const env of ref.container.env ?? []) {
        if (env.valueFrom || typeof env.value !== "string") continue;
        for (const found of credentialUrlsIn(env.value)) {
          report(`${workload.label}: ${describeContainer(ref)}: env ${env.name} holds a URL with a credential: ${found}; read the URL from a Secret (valueFrom.secretKeyRef)`);
        }
      }
    }
  }),
);
