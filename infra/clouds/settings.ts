import type { z } from "zod";
import { awsSettingsIssues, awsSettingsSchema, type AwsSettings } from "./aws/settings";
import { azureSettingsIssues, azureSettingsSchema, type AzureSettings } from "./azure/settings";
import { gcpSettingsIssues, gcpSettingsSchema, type GcpSettings } from "./gcp/settings";
import { localSettingsIssues, localSettingsSchema, type LocalSettings } from "./local/settings";

/** The targets a stack can choose with `mlops:cloud`; each validates and profiles its own keys. */
export const SUPPORTED_CLOUDS = ["aws", "gcp", "azure", "local"] as const;
export type SupportedCloud = (typeof SUPPORTED_CLOUDS)[number];

type Issue = { path: (string | number)[]; message: string };

interface CloudSettings<S> {
  schema: z.ZodType<S>;
  /** Rules across keys, or with the environment, that one field's schema cannot state. */
  issues(environment: unknown, settings: S): Issue[];
}

/** `mlops:network`, `mlops:cluster` and `mlops:database` mean what the chosen cloud says. */
export const CLOUD_SETTINGS: { aws: CloudSettings<AwsSettings>; gcp: CloudSettings<GcpSettings>; azure: CloudSettings<AzureSettings>; local: CloudSettings<LocalSettings> } = {
  aws: { schema: awsSettingsSchema as z.ZodType<AwsSettings>, issues: awsSettingsIssues },
  gcp: { schema: gcpSettingsSchema as z.ZodType<GcpSettings>, issues: gcpSettingsIssues },
  azure: { schema: azureSettingsSchema as z.ZodType<AzureSettings>, issues: azureSettingsIssues },
  local: { schema: localSettingsSchema as z.ZodType<LocalSettings>, issues: localSettingsIssues },
};

/** The cloud-specific part of the parsed config, discriminated by `cloud`. */
export type CloudConfig =
  | ({ cloud: "aws" } & AwsSettings)
  | ({ cloud: "gcp" } & GcpSettings)
  | ({ cloud: "azure" } & AzureSettings)
  | ({ cloud: "local" } & LocalSettings);
