/**
 * A classifier's outputs as the seed's `prediction`: `{class, probability, confidence}`. Used for the
 * answer of a live prediction (serving's outputs) and for stored ones (the monitor keeps the same
 * outputs), so both read the same way.
 *
 * The outputs are those of sklearn-onnx classifiers and the demo model: a label output (`label`,
 * `output_label`) and a probability output (`probability`, `probabilities`, `output_probability`), the
 * latter either the positive class's probability (binary, one number) or one probability per class.
 */

export type Confidence = "high" | "medium" | "low";

export interface Outcome {
  /** The class name (registered-model tag `class_names`), else the label as text. */
  class: string;
  /** The label as the model gave it (what ground truth is compared with). */
  label: string;
  /** Probability of the predicted class; null when the model reports none. */
  probability: number | null;
  confidence: Confidence | null;
  /** Index of the predicted class in the per-class probabilities (0/1 for a binary model). */
  classIndex: number | null;
}

const LABEL_OUTPUTS = ["label", "output_label", "predicted_label", "prediction"];
const PROBABILITY_OUTPUTS = ["probability", "probabilities", "output_probability", "proba", "score"];

/** Of the predicted class's probability: >= 0.9 high, >= 0.7 medium, else low (the seed's 0.92 is "high"). */
export function confidenceOf(probability: number): Confidence {
  if (probability >= 0.9) return "high";
  if (probability >= 0.7) return "medium";
  return "low";
}

/** The predicted class of one row's outputs (`rowOutputs`, or the monitor's stored outputs). */
export function outcomeOf(outputs: Readonly<Record<string, unknown>>, classNames?: readonly string[]): Outcome {
  const labelName = LABEL_OUTPUTS.find((n) => outputs[n] !== undefined && outputs[n] !== null);
  const probName = PROBABILITY_OUTPUTS.find((n) => outputs[n] !== undefined && outputs[n] !== null);
  const rawLabel = labelName === undefined ? undefined : scalar(outputs[labelName]);
  const rawProb = probName === undefined ? undefined : outputs[probName];
  let classIndex: number | null = typeof rawLabel === "number" && Number.isInteger(rawLabel) ? rawLabel : typeof rawLabel === "boolean" ? Number(rawLabel) : null;
  let probability: number | null = null;
  if (Array.isArray(rawProb) && rawProb.length > 1) {
    const probs = rawProb.map(Number);
    classIndex ??= probs.indexOf(Math.max(...probs));
    probability = probs[classIndex] ?? null;
  } else if (rawProb !== undefined) {
    const positive = Number(scalar(rawProb));
    if (Number.isFinite(positive)) {
      classIndex ??= positive >= 0.5 ? 1 : 0;
      probability = classIndex === 1 ? positive : 1 - positive;
    }
  }
  const label = rawLabel !== undefined ? labelText(rawLabel) : classIndex !== null ? String(classIndex) : "";
  const name = classIndex !== null && classNames?.[classIndex] !== undefined ? classNames[classIndex] : label;
  return { class: name, label, probability, confidence: probability === null ? null : confidenceOf(probability), classIndex };
}

/** A label as text, the monitor's way (true/false are the classes 1/0). */
export function labelText(value: unknown): string {
  if (typeof value === "boolean") return value ? "1" : "0";
  return String(value);
}

function scalar(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Ground truth given as a class name (`"fraudulent"`) becomes the model's label (`1`), so the monitor
 * compares like with like; anything else is passed on as it is.
 */
export function actualLabel(actual: string | number | boolean, classNames?: readonly string[]): string | number | boolean {
  if (typeof actual !== "string" || !classNames) return actual;
  const index = classNames.indexOf(actual);
  return index >= 0 ? index : actual;
}

/** A stored label shown by its class name when it is a class index. */
export function className(label: string | null | undefined, classNames?: readonly string[]): string | null {
  if (label === null || label === undefined) return null;
  const index = /^\d+$/.test(label) ? Number(label) : -1;
  return classNames?.[index] ?? label;
}
