import {
  UnknownValueError,
  type EnforcementLevel,
  type PolicyComplianceFramework,
  type PolicyConfigSchema,
  type PolicyResource,
  type ReportViolation,
  type ResourceValidation,
  type ResourceValidationPolicy,
  type Severity,
  type StackValidation,
  type StackValidationPolicy,
} from "@pulumi/policy";

export type Cloud = "aws" | "gcp" | "azure" | "kubernetes";
export type Rule = ResourceValidationPolicy | StackValidationPolicy;

/** What every rule of the pack states about itself (README table, Pulumi Cloud's policy view). */
export interface RuleMeta {
  /** `<area>-<what>`, lower case. */
  name: string;
  /** Full sentences: what is required and why. */
  description: string;
  severity: Severity;
  framework: PolicyComplianceFramework;
  /** Clouds (and Kubernetes) whose resources the rule checks; also the policy's tags. */
  clouds: Cloud[];
  /** The level without a config file; the environment files (policies/config/<env>.json) decide per stack. */
  enforcementLevel: Exclude<EnforcementLevel, "remediate">;
  remediationSteps: string;
  configSchema?: PolicyConfigSchema;
}

function base(meta: RuleMeta) {
  const { clouds, ...rest } = meta;
  return { ...rest, tags: [...clouds, `severity:${meta.severity}`] };
}

/**
 * A resource rule. Every validation is guarded: a value the engine cannot know yet (a computed
 * output during preview) becomes a violation at the rule's level saying what could not be checked,
 * instead of the engine's advisory note, so an unverifiable resource never passes silently.
 */
export function resourceRule(meta: RuleMeta, validations: ResourceValidation[]): ResourceValidationPolicy {
  return { ...base(meta), validateResource: validations.map(guardResourceValidation) };
}

/** A stack rule: sees every resource's outputs, parents and (property) dependencies. Use `checkEach` inside. */
export function stackRule(meta: RuleMeta, validate: StackValidation): StackValidationPolicy {
  return {
    ...base(meta),
    validateStack: async (args, report) => {
      try {
        await validate(args, report);
      } catch (err) {
        if (!(err instanceof UnknownValueError)) throw err;
        report(cannotVerify(err));
      }
    },
  };
}

function guardResourceValidation(validation: ResourceValidation): ResourceValidation {
  const guarded: ResourceValidation = async (args, report) => {
    try {
      await validation(args, report);
    } catch (err) {
      if (!(err instanceof UnknownValueError)) throw err;
      report(cannotVerify(err));
    }
  };
  // Keep the type filter validateResourceOfType attached, so the engine still skips other types.
  const pulumiType = (validation as { __pulumiType?: string }).__pulumiType;
  if (pulumiType) (guarded as { __pulumiType?: string }).__pulumiType = pulumiType;
  return guarded;
}

/**
 * Runs a stack check per resource, so that one resource with an unknown value is reported (against
 * that resource) while the others are still checked.
 */
export function checkEach<T extends PolicyResource>(resources: T[], report: ReportViolation, check: (resource: T, reportHere: (message: string) => void) => void): void {
  for (const resource of resources) {
    const reportHere = (message: string) => report(message, resource.urn);
    try {
      check(resource, reportHere);
    } catch (err) {
      if (!(err instanceof UnknownValueError)) throw err;
      reportHere(cannotVerify(err));
    }
  }
}

/** The message of an unknown value: which property, and what to do about it. */
export function cannotVerify(err: UnknownValueError): string {
  const path = (err.props ?? []).map((p: string | number | symbol) => (/^\d+$/.test(String(p)) ? `[${String(p)}]` : `.${String(p)}`)).join("") || "a value";
  return `cannot be verified until ${path} is known: it is computed during the update, after this check runs. Give it a value known at preview time so the rule can check it.`;
}

/** Reads a value that may be unknown during preview: undefined instead of throwing (for lookups, never for checks). */
export function peek<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (err) {
    if (err instanceof UnknownValueError) return undefined;
    throw err;
  }
}

/**
 * Whether a value is set. An unknown value is set (to something computed, such as a KMS key's ARN):
 * presence is verified even when the content is not known yet.
 */
export function isSet(read: () => unknown): boolean {
  try {
    const value = read();
    return value !== undefined && value !== null && value !== "" && !(Array.isArray(value) && value.length === 0);
  } catch (err) {
    if (err instanceof UnknownValueError) return true;
    throw err;
  }
}
