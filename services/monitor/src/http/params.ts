/** Query parameters and path names of the read routes, checked one way: a wrong one is a 4xx that names it and what is expected. */
import { HttpError, notFound } from "@mlops/common";
import type { ModelSpec, ModelsConfig } from "../config/models";

export interface IntRange {
  min: number;
  max?: number;
  default: number;
}

/** An integer query parameter (absent: the default), or 400 `INVALID_<NAME>` naming it and its range. */
export function intParam(name: string, text: string | undefined, range: IntRange): number {
  if (text === undefined || text === "") return range.default;
  const n = /^-?\d+$/.test(text.trim()) ? Number(text) : NaN;
  const expected = range.max === undefined ? `an integer >= ${range.min}` : `an integer from ${range.min} to ${range.max}`;
  if (!Number.isSafeInteger(n) || n < range.min || (range.max !== undefined && n > range.max)) {
    throw new HttpError(400, `INVALID_${name.toUpperCase()}`, `${name} must be ${expected}; got "${text}"`);
  }
  return n;
}

/** The settings of a model this monitor is configured for; 404 MODEL_NOT_FOUND for any other (the monitor holds no data of it). */
export function configuredModel(models: ModelsConfig, model: string): ModelSpec {
  if (!models.isConfigured(model)) throw notFound(`model "${model}" is not monitored here (it is not in MODELS_CONFIG)`, "MODEL_NOT_FOUND");
  return models.get(model);
}
