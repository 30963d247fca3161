import * as aws from "@pulumi/aws";
import { validateResourceOfType } from "@pulumi/policy";
import { resourceRule } from "../support/define";
import { cisAws } from "../support/frameworks";
import { azure, gcp } from "../support/types";

/** "7776000s" (Cloud KMS) -> days. */
function secondsToDays(period: string): number {
  const seconds = Number(/^(\d+(?:\.\d+)?)s$/.exec(period)?.[1] ?? NaN);
  return seconds / 86400;
}

export const storageKmsKeyRotation = resourceRule(
  {
    name: "storage-kms-key-rotation",
    description:
      "Customer-managed encryption keys (the keys of buckets, databases, Secrets and logs) rotate automatically at least every maxRotationDays days (365 by default). AWS KMS symmetric keys have rotation enabled, Cloud KMS keys have a rotation period, Key Vault keys have a rotation policy.",
    severity: "medium",
    framework: cisAws("Ensure rotation for customer-created symmetric CMKs is enabled"),
    clouds: ["aws", "gcp", "azure"],
    enforcementLevel: "advisory",
    configSchema: { properties: { maxRotationDays: { type: "integer", minimum: 90, maximum: 2560, default: 365 } } },
    remediationSteps:
      "AWS: set enableKeyRotation true (and rotationPeriodInDays within the limit). GCP: set rotationPeriod, e.g. \"7776000s\" (90 days). Azure: give the key a rotationPolicy with a Rotate lifetime action.",
  },
  [
    validateResourceOfType(aws.kms.Key, (key, args, report) => {
      const spec = key.customerMasterKeySpec ?? "SYMMETRIC_DEFAULT";
      // Asymmetric and HMAC keys cannot rotate automatically in KMS.
      if (spec !== "SYMMETRIC_DEFAULT" || (key.keyUsage ?? "ENCRYPT_DECRYPT") !== "ENCRYPT_DECRYPT") return;
      const { maxRotationDays } = args.getConfig<{ maxRotationDays: number }>();
      if (key.enableKeyRotation !== true) report(`KMS key "${args.name}" never rotates: set enableKeyRotation true`);
      else if ((key.rotationPeriodInDays ?? 365) > maxRotationDays) report(`KMS key "${args.name}" rotates every ${key.rotationPeriodInDays} days; at most ${maxRotationDays} allowed`);
    }),
    validateResourceOfType(gcp.kmsCryptoKey, (key, args, report) => {
      const { maxRotationDays } = args.getConfig<{ maxRotationDays: number }>();
      if (!key.rotationPeriod) report(`Cloud KMS key "${args.name}" never rotates: set rotationPeriod`);
      else if (!(secondsToDays(key.rotationPeriod) <= maxRotationDays)) report(`Cloud KMS key "${args.name}" rotates every ${key.rotationPeriod}; at most ${maxRotationDays} days allowed`);
    }),
    validateResourceOfType(azure.keyVaultKey, (key, args, report) => {
      const actions: any[] = key.properties?.rotationPolicy?.lifetimeActions ?? [];
      if (!actions.some((a) => String(a.action?.type).toLowerCase() === "rotate")) report(`Key Vault key "${args.name}" has no rotation policy with a Rotate action`);
    }),
  ],
);
