import type { z } from "zod";
import { prodRules } from "../config-fields";
import { awsSettingsIssues, awsSettingsSchema, type AwsSettings } from "./aws/settings";
import { azureSettingsSchema, type AzureSettings } from "./azure/settings";
import { gcpSettingsSchema, type GcpSettings } from "./gcp/settings";
import { localSettingsSchema, type LocalSettings } from "./local/settings";

/** The targets a stack can choose with `mlops:cloud`; each validates and profiles its own keys. */
export const SUPPORTED_CLOUDS = ["aws", "gcp", "azure", "local"] as const;
export type SupportedCloud = (typeof SUPPORTED_CLOUDS)[number];

type Issue = { path: (string | number)[]; message: string };

interface CloudSettings<S> {
  schema: z.ZodType<S>;
  /** Rules across keys, or with the environment, that one field's schema cannot state (GCP, Azure: the prod rules every cloud shares; local: none). */
  issues(environment: unknown, settings: S): Issue[];
}

/** `mlops:network`, `mlops:cluster` and `mlops:database` mean what the chosen cloud says. */
export const CLOUD_SETTINGS: { aws: CloudSettings<AwsSettings>; gcp: CloudSettings<GcpSettings>; azure: CloudSettings<AzureSettings>; local: CloudSettings<LocalSettings> } = {
  aws: { schema: awsSettingsSchema as z.ZodType<AwsSettings>, issues: awsSettingsIssues },
  gcp: { schema: gcpSettingsSchema as z.ZodType<GcpSettings>, issues: prodRules },
  azure: { schema: azureSettingsSchema as z.ZodType<AzureSettings>, issues: prodRules },
  local: { schema: localSettingsSchema as z.ZodType<LocalSettings>, issues: () => [] },
};

/** The cloud-specific part of the parsed config, discriminated by `cloud`. */
export type CloudConfig =
  | ({ cloud: "aws" } & AwsSettings)
  | ({ cloud: "gcp" } & GcpSettings)
  | ({ cloud: "azure" } & AzureSettings)
  | ({ cloud: "local" } & LocalSettings);
