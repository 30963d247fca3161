/**
 * How a comparison decides: thresholds per method, per-feature method overrides, the multiple-testing
 * correction, the dataset-drift share and the minimum sample size. Defaults are the product's canonical
 * values (PRODUCT.md, "Drift"). The same JSON shape is read by the CLI (`--config`) and the service
 * (`DRIFT_CONFIG`).
 */
import { z } from "zod";
import type { Profile } from "../profile/schema";

export const METHODS = ["ks", "wasserstein", "psi", "jensenshannon", "hellinger", "chisquare"] as const;
export type MethodName = (typeof METHODS)[number];

/** Methods whose verdict is a p-value below the threshold (after correction); the others: score >= threshold. */
export const P_VALUE_METHODS: ReadonlySet<MethodName> = new Set(["ks", "chisquare"]);
export const NUMERIC_METHODS: ReadonlySet<MethodName> = new Set(["ks", "wasserstein", "psi", "jensenshannon", "hellinger"]);
export const CATEGORICAL_METHODS: ReadonlySet<MethodName> = new Set(["chisquare", "jensenshannon", "psi", "hellinger"]);

export const DEFAULT_THRESHOLDS: Readonly<Record<MethodName, number>> = {
  ks: 0.05,
  chisquare: 0.05,
  wasserstein: 0.1,
  psi: 0.2,
  jensenshannon: 0.1,
  hellinger: 0.1,
};

const method = z.enum(METHODS);

export const driftConfigSchema = z
  .object({
    thresholds: z
      .object(Object.fromEntries(METHODS.map((m) => [m, z.number().positive().optional()])) as Record<MethodName, z.ZodOptional<z.ZodNumber>>)
      .strict()
      .default({}),
    /** PSI at or above this (and below the drift threshold) is reported as a warning. */
    psiWarning: z.number().positive().default(0.1),
    correction: z.enum(["bonferroni", "fdr", "none"]).default("bonferroni"),
    /** Dataset drift when the share of drifted features is at least this. */
    driftShare: z.number().gt(0).max(1).default(0.5),
    /** Fewer current values than this: "insufficient data", never a verdict. */
    minRows: z.number().int().min(1).default(1000),
    /** References of at most this many values get the p-value tests (KS / chi-square), as Evidently does. */
    smallReferenceRows: z.number().int().min(0).default(1000),
    /** Numeric columns with at most this many distinct values (reference and current) count as categorical. */
    discreteMaxValues: z.number().int().min(0).default(5),
    features: z
      .record(z.string(), z.object({ method: method.optional(), threshold: z.number().positive().optional(), ignore: z.boolean().optional() }).strict())
      .default({}),
    multivariate: z.object({ enabled: z.boolean().default(true), sigma: z.number().positive().default(3) }).strict().default({ enabled: true, sigma: 3 }),
    /** Bars in the report's histograms of numeric columns. */
    histogramBins: z.number().int().min(2).max(200).default(20),
  })
  .strict();

export type DriftConfig = z.infer<typeof driftConfigSchema>;

export const DEFAULT_DRIFT_CONFIG: DriftConfig = driftConfigSchema.parse({});

export class DriftConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DriftConfigError";
  }
}

/** Parses a drift config (JSON text or object), naming the first problems. */
export function parseDriftConfig(input: unknown, source = "drift config"): DriftConfig {
  let doc = input;
  if (typeof input === "string") {
    if (input.trim() === "") return DEFAULT_DRIFT_CONFIG;
    try {
      doc = JSON.parse(input);
    } catch (err) {
      throw new DriftConfigError(`${source} is not valid JSON: ${(err as Error).message}`);
    }
  }
  const result = driftConfigSchema.safeParse(doc ?? {});
  if (!result.success) {
    const problems = result.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new DriftConfigError(`${source} is invalid: ${problems.join("; ")}`);
  }
  return result.data;
}

export function thresholdFor(config: DriftConfig, feature: string, m: MethodName): number {
  return config.features[feature]?.threshold ?? config.thresholds[m] ?? DEFAULT_THRESHOLDS[m];
}

/** Overrides must name columns of the profile and methods that apply to their kind. */
export function checkConfigAgainstProfile(config: DriftConfig, profile: Profile): void {
  const columns = new Map(profile.columns.map((c) => [c.name, c]));
  for (const [name, override] of Object.entries(config.features)) {
    const column = columns.get(name);
    if (!column) throw new DriftConfigError(`drift config names feature "${name}", which the reference profile does not have`);
    if (!override.method) continue;
    const discrete = column.kind === "numeric" && column.discrete !== null && column.discrete.values.length <= config.discreteMaxValues;
    const allowed = column.kind === "categorical" ? CATEGORICAL_METHODS : discrete ? new Set([...NUMERIC_METHODS, "chisquare"]) : NUMERIC_METHODS;
    if (!allowed.has(override.method)) {
      throw new DriftConfigError(`drift config: method "${override.method}" does not apply to ${column.kind} column "${name}" (use one of ${[...allowed].join(", ")})`);
    }
  }
}
