/**
 * Class names of a model: the registered model's tag `class_names`, a JSON list (`["legitimate",
 * "fraudulent"]`: label 0 is "legitimate"), read through the registry and kept `ttlMs` (default 30 s),
 * so a prediction costs no registry call and a changed tag shows within the TTL.
 *
 *   const names = new ClassNames(mlflowClient);
 *   await names.of("fraud-detector")   // ["legitimate", "fraudulent"], or undefined (labels as text)
 *
 * A registry that fails or a tag that is not a list of strings means "no names" (the label is shown as
 * text): a prediction never fails for its display names. The failure is kept for the TTL too, so a
 * registry outage does not add a registry call to every prediction.
 */

/** What this needs of MlflowClient. */
export interface RegisteredModelSource {
  getRegisteredModel(name: string): Promise<{ tags?: { key: string; value: string }[] }>;
}

export const CLASS_NAMES_TAG = "class_names";

export class ClassNames {
  private readonly cache = new Map<string, { at: number; names: Promise<string[] | undefined> }>();

  constructor(
    private readonly registry: RegisteredModelSource,
    private readonly ttlMs = 30_000,
    private readonly onError: (model: string, err: unknown) => void = () => undefined,
  ) {}

  of(model: string): Promise<string[] | undefined> {
    const hit = this.cache.get(model);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.names;
    const names = this.registry.getRegisteredModel(model).then(
      (m) => parseClassNames(m.tags?.find((t) => t.key === CLASS_NAMES_TAG)?.value),
      (err) => {
        this.onError(model, err);
        return undefined;
      },
    );
    this.cache.set(model, { at: Date.now(), names });
    return names;
  }
}

export function parseClassNames(tag: string | undefined): string[] | undefined {
  if (tag === undefined) return undefined;
  try {
    const list = JSON.parse(tag) as unknown;
    return Array.isArray(list) && list.every((n) => typeof n === "string") ? list : undefined;
  } catch {
    return undefined;
  }
}
