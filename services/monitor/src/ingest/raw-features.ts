/**
 * The JSON text of each event's `features`, cut out of the request body instead of re-made with
 * JSON.stringify, which costs as much CPU as parsing the whole body (float32 values print with up to 17
 * digits). Only where that is certainly the same object; otherwise the caller stringifies.
 *
 * Why a plain text search is safe here (the body already parsed as JSON, so it is valid JSON):
 * - The pattern `"features":` ends with a quote that is not escaped, so it closes a string that is a key.
 *   Every event has a `features` key, so when the pattern occurs exactly once per event, the k-th
 *   occurrence is the k-th event's key: any other occurrence (a nested or duplicated key, a key ending
 *   in `features`) makes the count differ, and nothing is cut.
 * - When an event's feature values are numbers, booleans or null and no key holds a `}`, the first `}`
 *   after the object's `{` closes it: no string and no nested value can hold one.
 */
const KEY = '"features":';

export function rawFeatureTexts(body: string, features: readonly Record<string, unknown>[]): (string | undefined)[] | undefined {
  const starts: number[] = [];
  for (let i = body.indexOf(KEY); i !== -1; i = body.indexOf(KEY, i + KEY.length)) {
    if (starts.length === features.length) return undefined;
    starts.push(i + KEY.length);
  }
  if (starts.length !== features.length) return undefined;
  return starts.map((from, k) => {
    if (!isFlatWithoutStrings(features[k])) return undefined;
    let open = from;
    while (open < body.length && isSpace(body.charCodeAt(open))) open++;
    if (body.charCodeAt(open) !== 0x7b /* { */) return undefined;
    const close = body.indexOf("}", open);
    return close === -1 ? undefined : body.slice(open, close + 1);
  });
}

function isFlatWithoutStrings(record: Record<string, unknown>): boolean {
  for (const key in record) {
    const v = record[key];
    if (typeof v === "string" || (typeof v === "object" && v !== null) || key.includes("}")) return false;
  }
  return true;
}

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
