/**
 * The baseline of an explanation: each feature's central value in the model version's reference
 * profile (the drift detector's profile document, services/drift/src/profile/schema.ts, version 1):
 * the median of the column's sorted sample (`sample.data`, float64 little-endian in base64), else the
 * column's mean. Only the fields read here are checked, so a profile with more fields still serves;
 * the API does not import the drift service (services import only services/common).
 */
import { z } from "zod";

const numericColumn = z.object({
  name: z.string(),
  kind: z.literal("numeric"),
  role: z.string().optional(),
  mean: z.number().nullable().optional(),
  sample: z.object({ size: z.number().int().min(0), encoding: z.literal("float64le-base64"), data: z.string() }).optional(),
});
const profileShape = z.object({ schema: z.literal("mlops-drift/profile"), columns: z.array(z.looseObject({ kind: z.string() })) });

export class ReferenceProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReferenceProfileError";
  }
}

/** Feature name -> central value, for the numeric feature columns that have one. */
export function centralValues(profile: unknown): Map<string, number> {
  const parsed = profileShape.safeParse(profile);
  if (!parsed.success) {
    throw new ReferenceProfileError(`the reference profile is not an mlops-drift profile: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
  }
  const values = new Map<string, number>();
  for (const raw of parsed.data.columns) {
    const column = numericColumn.safeParse(raw);
    if (!column.success || column.data.role === "output") continue;
    const median = column.data.sample ? sampleMedian(column.data.sample.data) : undefined;
    const central = median ?? column.data.mean ?? undefined;
    if (central !== undefined && Number.isFinite(central)) values.set(column.data.name, central);
  }
  return values;
}

/** Median of a sorted float64le-base64 sample; undefined when it is empty or malformed. */
export function sampleMedian(base64: string): number | undefined {
  const bytes = Buffer.from(base64, "base64");
  const n = Math.floor(bytes.length / 8);
  if (n === 0 || bytes.length % 8 !== 0) return undefined;
  const at = (i: number) => bytes.readDoubleLE(i * 8);
  return n % 2 ? at((n - 1) / 2) : (at(n / 2 - 1) + at(n / 2)) / 2;
}
