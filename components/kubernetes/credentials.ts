import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { API_NAME } from "./constants";
import { recommendedLabels } from "./labels";

/**
 * Credentials the platform generates and hands to its services: each one a `@pulumi/random`
 * password (a Pulumi secret: encrypted in the state, masked in output), written only into an Opaque
 * Kubernetes Secret that the services read through `secretKeyRef` or a mounted file.
 */

/** Token and API key length: far above the services' minimum (MIN_TOKEN_LENGTH, 16), letters and digits only (safe in headers, comma lists and JSON). */
export const TOKEN_LENGTH = 40;
/** Serving's API keys (per client). */
export const API_KEY_LENGTH = 40;
/** HMAC keys of the webhook signatures. */
export const SIGNING_KEY_LENGTH = 48;

/** A generated token, as a Pulumi secret. */
export function generatedToken(name: string, length: number, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
  return new random.RandomPassword(name, { length, special: false }, { ...opts, additionalSecretOutputs: ["result"] }).result;
}

export interface CredentialsSecretArgs {
  namespace: pulumi.Input<string>;
  /** The Secret's name in the cluster. */
  secretName: string;
  /** Keys and values; every value is stored as a Pulumi secret, whatever its origin (a generated token, a URL from the stack config). */
  data: Record<string, pulumi.Input<string>>;
}

/** An Opaque Secret of credentials, labelled like every object of the platform. */
export function credentialsSecret(resourceName: string, args: CredentialsSecretArgs, opts: pulumi.CustomResourceOptions): k8s.core.v1.Secret {
  const stringData = Object.fromEntries(Object.entries(args.data).map(([key, value]) => [key, pulumi.secret(value)]));
  return new k8s.core.v1.Secret(
    resourceName,
    {
      metadata: { name: args.secretName, namespace: args.namespace, labels: recommendedLabels({ name: args.secretName, instance: args.secretName, component: "credentials" }) },
      type: "Opaque",
      stringData,
    },
    opts,
  );
}

/** One client of the inference API (stack config `mlops:servingClients`). */
export interface ServingClient {
  /** Appears in serving's logs and events (`client`), never the key. */
  name: string;
  /** Inference requests per minute for this key; unset: serving's RATE_LIMIT_PER_MINUTE. */
  ratePerMinute?: number;
}

/** Serving's API_KEYS_FILE format (services/serving/src/auth.ts): `{"keys": [{name, key, ratePerMinute?}]}`. */
export function apiKeysFile(clients: ServingClient[], keys: Record<string, string>): string {
  return JSON.stringify({ keys: clients.map((c) => ({ name: c.name, key: keys[c.name], ...(c.ratePerMinute !== undefined ? { ratePerMinute: c.ratePerMinute } : {}) })) });
}

/** The platform API's client name at serving (its SERVING_API_KEY): one more client, added by the platform. */
export const PLATFORM_API_CLIENT = API_NAME;

/**
 * Serving's bucket for the platform API's key. Every person's and application's predictions through the
 * API share that one key, and the API limits each of them itself (1,000 a minute per principal), so
 * serving's per-key default (1,000 a minute) would throttle them all together: this is the API's
 * capacity, not a quota.
 */
export const PLATFORM_API_RATE_PER_MINUTE = 600_000;

/**
 * The stack's serving clients plus the platform API's. A stack that lists `platform-api` itself keeps
 * its entry (to set another rate for the API's key).
 */
export function withPlatformApiClient(clients: ServingClient[]): ServingClient[] {
  return clients.some((c) => c.name === PLATFORM_API_CLIENT) ? clients : [...clients, { name: PLATFORM_API_CLIENT, ratePerMinute: PLATFORM_API_RATE_PER_MINUTE }];
}
