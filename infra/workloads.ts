import type * as pulumi from "@pulumi/pulumi";
import type { Foundation } from "../components/contracts";
import { API_NAME, imageReference, Platform, type AlertAction, type AlertRouting, type ModelWorkload, type PlatformImages, type ResourceSpec } from "../components/kubernetes";
import { alertRuleSettings, ConfigError, DIGEST_PLACEHOLDER, NAMESPACE, type ModelConfig, type PlatformConfig } from "./config";
import { ingressSettings } from "./ingress-config";
import type { ImageName } from "./images";
import { challengerCap, servingProfile, type EnvironmentProfile } from "./profiles";

export interface WorkloadsResult {
  platform: Platform;
  outputs: Record<string, pulumi.Input<unknown>>;
}

/** Deploys the ML workloads on a Foundation, every environment decision taken from the profile. */
/** `registry`: `mlops:images.registry`, or the registry the foundation creates. */
export function deployWorkloads(foundation: Foundation, config: PlatformConfig, profile: EnvironmentProfile, registry: string): WorkloadsResult {
  const w = profile.workloads;
  const platform = new Platform(`mlops-${config.environment}`, {
    foundation,
    images: resolveImages(config, profile, registry),
    models: config.models.map((m, i) => modelWorkload(m, i, profile)),
    mlflow: { replicas: w.mlflowReplicas, workers: w.mlflowWorkers, resources: w.resources.mlflow },
    serving: {
      cpuUtilization: w.hpaCpuUtilization,
      reloadIntervalSeconds: w.servingReloadIntervalSeconds,
      clients: config.servingClients,
      // The same cap the API's deploys are held to: serving applies no more, whatever the weight's source.
      maxChallengerWeight: challengerCap(config.environment, profile),
    },
    drift: { resources: w.resources.drift },
    monitor: { replicas: w.monitorReplicas, resources: w.resources.monitor, retentionDays: w.monitorRetentionDays, alertActions: alertActions(config.models) },
    api: {
      environment: config.environment,
      replicas: w.apiReplicas,
      resources: w.resources.api,
      maxChallengerWeight: w.apiMaxChallengerWeight,
      servingProfile: servingProfile(profile),
    },
    jobResources: w.resources.jobs,
    disruptionBudgets: w.podDisruptionBudgets ? { minAvailable: w.pdbMinAvailable } : undefined,
    monitoring: {
      prometheus: { replicas: w.prometheusReplicas, retention: w.prometheusRetention, storage: w.prometheusStorage, resources: w.resources.prometheus },
      alertmanager: { replicas: w.alertmanagerReplicas, routing: alertRouting(config) },
      grafana: { resources: w.resources.grafana },
    },
    alerts: { ...profile.alerts, ...alertRuleSettings(config) },
    ingress: ingressSettings(config.environment, config.cloud, config.ingress),
  });
  return {
    platform,
    outputs: {
      mlflowUrl: platform.mlflowUrl,
      servingUrls: platform.servingUrls,
      monitorUrl: platform.monitorUrl,
      apiUrl: platform.apiUrl,
      // The platform API's first admin (user `admin`): a Pulumi secret, like the credentials below.
      apiAdminPassword: platform.apiAdminPassword,
      // The API's public URL when mlops:ingress.hosts.api exposes it.
      ...(platform.publicUrls[API_NAME] ? { apiPublicUrl: platform.publicUrls[API_NAME] } : {}),
      prometheusUrl: platform.prometheusUrl,
      grafanaUrl: platform.grafanaUrl,
      // Where to read the Grafana password (kubectl get secret), never the password itself.
      grafanaAdminSecret: platform.grafanaAdminSecret,
      // `https://<host>` per endpoint behind the ingress (mlops:ingress); {} without one.
      publicUrls: platform.publicUrls,
      // Credentials handed to people and the platform API: Pulumi secrets (encrypted in the state,
      // shown only with `pulumi stack output --show-secrets`).
      servingApiKeys: platform.servingApiKeys,
      monitorFeedbackToken: platform.monitorFeedbackToken,
      monitorReadToken: platform.monitorReadToken,
    },
  };
}

export function resolveImages(config: PlatformConfig, profile: EnvironmentProfile, registry: string): PlatformImages {
  const ref = (name: ImageName) => {
    const image = config.images[name];
    return imageReference({ registry, name, tag: image.tag ?? config.images.tag, digest: previewDigest(image.digest) }, profile.workloads.preferDigests);
  };
  return { serving: ref("serving"), drift: ref("drift"), monitor: ref("monitor"), api: ref("api"), mlflow: ref("mlflow"), version: config.images.tag };
}


function modelWorkload(m: ModelConfig, index: number, profile: EnvironmentProfile): ModelWorkload {
  return {
    name: m.name,
    uri: m.uri,
    challenger: m.challenger,
    replicas: m.replicas ?? profile.workloads.servingReplicas,
    resources: fillResources(m.resources, profile.workloads.resources.serving, `${NAMESPACE}:models.${index}.resources`),
    accuracyThreshold: m.accuracyThreshold,
    eventSampleRate: m.eventSampleRate,
    quality: m.quality,
    drift: {
      enabled: m.drift.enabled,
      // The reference profile is logged with the model version: by default, the champion's.
      referenceUri: m.drift.referenceUri ?? m.uri,
      evaluationIntervalSeconds: m.drift.evaluationIntervalSeconds,
      windowRows: m.drift.windowRows,
      datasetDriftShare: m.drift.datasetDriftShare,
      methods: m.drift.methods,
      webhookUrl: m.drift.webhookUrl,
    },
  };
}

/**
 * A model's `resources`, field by field over the profile's serving values: what the stack leaves out
 * is the profile's. A request above its limit (a lowered limit under the profile's request) is refused
 * here, naming the key, rather than by the API server mid-deploy.
 */
export function fillResources(override: Partial<ResourceSpec> | undefined, profile: ResourceSpec, key: string): ResourceSpec {
  const r: ResourceSpec = {
    cpuRequest: override?.cpuRequest ?? profile.cpuRequest,
    memoryRequest: override?.memoryRequest ?? profile.memoryRequest,
    cpuLimit: override?.cpuLimit ?? profile.cpuLimit,
    memoryLimit: override?.memoryLimit ?? profile.memoryLimit,
  };
  const problems = (["cpu", "memory"] as const)
    .filter((kind) => quantityValue(r[`${kind}Request`]) > quantityValue(r[`${kind}Limit`]))
    .map((kind) => `${key}: ${kind}Request ${r[`${kind}Request`]} exceeds ${kind}Limit ${r[`${kind}Limit`]} (unset fields are the environment profile's: ${JSON.stringify(profile)})`);
  if (problems.length) throw new ConfigError(problems);
  return r;
}

/** A Kubernetes quantity as a number (the forms the config's `quantity` allows: plain, m, Ki, Mi, Gi). */
const QUANTITY_UNITS: Record<string, number> = { "": 1, m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };
function quantityValue(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?$/.exec(q);
  return m ? Number(m[1]) * QUANTITY_UNITS[m[2] ?? ""] : NaN;
}

function alertActions(models: ModelConfig[]): AlertAction[] {
  return models.flatMap((m) =>
    m.alertActions.map((a) => ({ alert: a.alert, model: m.name, action: a.action, ...(a.action === "retrain" ? { url: m.retrainWebhookUrl } : {}) })),
  );
}

/**
 * The stack's `alerting` for Alertmanager. A credential the stack has not set yet only gets this far in a
 * preview (loadConfig refuses it missing on a deployment): the preview shows this placeholder in the
 * receivers' Secret, so it declares what the deployment will.
 */
export const PREVIEW_CREDENTIAL = "preview-placeholder-credential";
function alertRouting(config: PlatformConfig): AlertRouting<string> | undefined {
  const a = config.alerting;
  if (!a) return undefined;
  return {
    defaultReceiver: a.defaultReceiver,
    routes: a.routes,
    grouping: a.grouping,
    heartbeat: a.heartbeat,
    receivers: a.receivers.map((r) => ({
      ...r,
      ...(r.slack ? { slack: { ...r.slack, webhookUrl: r.slack.webhookUrl ?? PREVIEW_CREDENTIAL } } : {}),
      ...(r.pagerduty ? { pagerduty: { routingKey: r.pagerduty.routingKey ?? PREVIEW_CREDENTIAL } } : {}),
      ...(r.email?.authUsername ? { email: { ...r.email, authPassword: r.email.authPassword ?? PREVIEW_CREDENTIAL } } : {}),
    })),
  };
}

/**
 * Only previews get this far with the placeholder (loadConfig refuses it on a deployment): they show
 * the all-zero digest, which no registry serves, where CI will pin the real one.
 */
export const PREVIEW_DIGEST = `sha256:${"0".repeat(64)}`;
function previewDigest(digest: string | undefined): string | undefined {
  return digest === DIGEST_PLACEHOLDER ? PREVIEW_DIGEST : digest;
}
