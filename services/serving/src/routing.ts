/**
 * Champion/challenger split: `weight` percent (0-100, two decimals count) of requests go to the
 * challenger. With a routing key (a user or session id) the choice is a hash of the key, so one key
 * always lands on the same side (sticky A/B); without one it is random per request.
 */
export class TrafficSplit {
  private readonly threshold: number;

  constructor(weightPercent: number) {
    this.threshold = Math.round(weightPercent * 100);
  }

  /** true: this request goes to the challenger. */
  toChallenger(key: string | undefined): boolean {
    if (this.threshold <= 0) return false;
    if (this.threshold >= 10_000) return true;
    const draw = key === undefined ? Math.floor(Math.random() * 10_000) : stableHash(key) % 10_000;
    return draw < this.threshold;
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
