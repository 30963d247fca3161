import * as k8s from "@pulumi/kubernetes";
import { validateResourceOfType } from "@pulumi/policy";
import { resourceRule } from "../support/define";
import { cisKubernetes } from "../support/frameworks";
import { walkValues } from "../support/helm";
import { describeContainer, describeObject } from "../support/kubernetes";
import { credentialIn, isLiteralSecretValue, isSecretName, secretsInArgs } from "../support/secrets";
import { resourceType } from "../support/types";
import { forWorkloads } from "../support/workloads";

/** The problems in one container: secret-named env literals, credentials in any env literal, secrets in command/args. */
export function secretLiteralsIn(container: Record<string, any>): string[] {
  const found: string[] = [];
  for (const env of container.env ?? []) {
    if (env.valueFrom || typeof env.value !== "string") continue;
    const credential = credentialIn(env.value);
    if (credential) found.push(`env ${env.name} holds ${credential}`);
    else if (isSecretName(env.name) && isLiteralSecretValue(env.value)) found.push(`env ${env.name} holds a literal value`);
  }
  return [...found, ...secretsInArgs([...(container.command ?? []), ...(container.args ?? [])].map(String))];
}

export const workloadsNoSecretLiterals = resourceRule(
  {
    name: "workloads-no-secret-literals",
    description:
      "No password, token, key or credential-bearing connection string is written as a literal into a container's env, command or args, a ConfigMap, or a Helm release's values. Such literals end up in the object's spec, in `kubectl describe`, in the Pulumi state and in CI logs; they come from Kubernetes Secrets (valueFrom.secretKeyRef, mounted files or a chart's existingSecret) instead. Names are judged by their words (PASSWORD, SECRET, TOKEN, API/ACCESS/PRIVATE KEY...; *_FILE, *_PATH, *_NAME, *_ID are references), values by their shape (user:password@ URLs, Password= pairs, private keys).",
    severity: "critical",
    framework: cisKubernetes("5.4.1 Prefer using Secrets as files over Secrets as environment variables; never literals"),
    clouds: ["kubernetes"],
    enforcementLevel: "mandatory",
    remediationSteps: "Put the value in a Kubernetes Secret (generated with @pulumi/random, a Pulumi secret) and read it with env[].valueFrom.secretKeyRef, a secret volume, or the chart's existingSecret option.",
  },
  [
    ...forWorkloads((workload, _args, report) => {
      for (const ref of workload.containers) {
        for (const problem of secretLiteralsIn(ref.container)) report(`${workload.label}: ${describeContainer(ref)}: ${problem}; read it from a Secret (valueFrom.secretKeyRef)`);
      }
    }),
    validateResourceOfType(k8s.core.v1.ConfigMap, (configMap, args, report) => {
      for (const [key, value] of Object.entries(configMap.data ?? {})) {
        const credential = credentialIn(String(value));
        if (credential) report(`${describeObject(args.type, configMap)}: key ${key} holds ${credential}; use a Secret`);
        else if (isSecretName(key) && isLiteralSecretValue(String(value))) report(`${describeObject(args.type, configMap)}: key ${key} looks like a secret; use a Secret`);
      }
    }),
    validateResourceOfType(resourceType("kubernetes:helm.sh/v3:Release"), (release, args, report) => {
      walkValues(release.values, (object, path) => {
        for (const [key, value] of Object.entries(object)) {
          if (typeof value !== "string") continue;
          const where = path ? `${path}.${key}` : key;
          const credential = credentialIn(value);
          if (credential) report(`Helm release "${args.name}": values ${where} holds ${credential}; use the chart's existingSecret option`);
          else if (isSecretName(key) && isLiteralSecretValue(value) && !namesALabel(object, key)) report(`Helm release "${args.name}": values ${where} is a literal secret; use the chart's existingSecret option`);
        }
      });
    }),
  ],
);

/** A toleration or a selector requirement (`{key, operator, ...}`): its `key` names a taint or label, not a secret. */
function namesALabel(object: Record<string, unknown>, key: string): boolean {
  return key === "key" && typeof object.operator === "string";
}
