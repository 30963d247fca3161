/**
 * Champion/challenger split: `weight` percent (0-100, two decimals count) of requests go to the
 * challenger. With a routing key (a user or session id) the choice is a hash of the key, so one key
 * always lands on the same side (sticky A/B); without one it is random per request.
 *
 * The weight is adjustable while requests flow (challenger-weight.ts follows the registry's
 * `mlops.challenger_weight` tag): `setWeight` is one assignment, so each request sees either the old or
 * the new weight, and a routing key keeps its side unless the change moves the threshold across its hash.
 */
export class TrafficSplit {
  private threshold = 0;

  constructor(weightPercent: number) {
    this.setWeight(weightPercent);
  }

  /** The share in use, in percent (rounded to two decimals, as the split counts it). */
  get weight(): number {
    return this.threshold / 100;
  }

  /** From the next request on, `weightPercent` (0-100) percent go to the challenger. */
  setWeight(weightPercent: number): void {
    if (!Number.isFinite(weightPercent) || weightPercent < 0 || weightPercent > 100) throw new RangeError(`a challenger weight is a percentage (0-100), not ${weightPercent}`);
    this.threshold = Math.round(weightPercent * 100);
  }

  /** true: this request goes to the challenger. */
  toChallenger(key: string | undefined): boolean {
    const threshold = this.threshold;
    if (threshold <= 0) return false;
    if (threshold >= 10_000) return true;
    const draw = key === undefined ? Math.floor(Math.random() * 10_000) : stableHash(key) % 10_000;
    return draw < threshold;
  }
}

/** FNV-1a with a murmur3 finaliser: similar keys ("user-1", "user-2") spread evenly. */
export function stableHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
