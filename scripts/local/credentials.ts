/**
 * The local platform's secrets, generated per start as Pulumi generates them per stack: each service
 * accepts only its own credential, and the callers (`npm run demo:traffic`, a person with curl) read
 * theirs from one file only the user can read.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface LocalCredentials {
  /** Serving's API key for the demo client (API_KEYS_FILE). */
  servingApiKey: string;
  /** Serving -> drift and serving -> monitor event batches. */
  driftEventsToken: string;
  monitorEventsToken: string;
  /** Ground truth to the monitor. */
  feedbackToken: string;
  /** The monitor's records: models, quality, alert actions. */
  readToken: string;
  /** Alertmanager -> the monitor's receiver. */
  alertReceiverToken: string;
  /** Signs the monitor's retraining calls (the local hook checks it). */
  retrainWebhookSecret: string;
  /** The platform API's own key at serving (a serving client like the demo). */
  apiServingKey: string;
  /** Signs the platform API's access tokens: a new one per start ends the previous start's sessions. */
  apiJwtKey: string;
}

/** The client name of the demo's API key, as it appears in serving's logs and events. */
export const DEMO_CLIENT = "demo";
/** The platform API's client name at serving. */
export const API_CLIENT = "platform-api";

const token = () => randomBytes(24).toString("hex");

export function generateCredentials(): LocalCredentials {
  return {
    servingApiKey: token(),
    driftEventsToken: token(),
    monitorEventsToken: token(),
    feedbackToken: token(),
    readToken: token(),
    alertReceiverToken: token(),
    retrainWebhookSecret: token(),
    apiServingKey: token(),
    apiJwtKey: token(),
  };
}

/** Writes the credentials file (0600), serving's API keys file and Alertmanager's token file; returns their paths. */
export function writeCredentialFiles(configDir: string, c: LocalCredentials): { credentials: string; apiKeys: string; alertToken: string } {
  const files = {
    credentials: path.join(configDir, "credentials.json"),
    apiKeys: path.join(configDir, "serving-api-keys.json"),
    alertToken: path.join(configDir, "alert-receiver-token"),
  };
  writeFileSync(files.credentials, `${JSON.stringify(c, null, 2)}\n`, { mode: 0o600 });
  const keys = [
    { name: DEMO_CLIENT, key: c.servingApiKey },
    // Every caller of the API shares its key; the API limits each of them itself (as in the cluster).
    { name: API_CLIENT, key: c.apiServingKey, ratePerMinute: 600_000 },
  ];
  writeFileSync(files.apiKeys, `${JSON.stringify({ keys })}\n`, { mode: 0o600 });
  writeFileSync(files.alertToken, c.alertReceiverToken, { mode: 0o600 });
  return files;
}

export function readCredentials(file: string): LocalCredentials {
  return JSON.parse(readFileSync(file, "utf8")) as LocalCredentials;
}

/** `authorization` header of a bearer credential. */
export const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
