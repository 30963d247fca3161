/**
 * Cutting each event's features out of the request body (instead of JSON.stringify) must give exactly
 * the object JSON.parse saw, or nothing (then the monitor stringifies): hand-made traps and random bodies.
 */
import { rawFeatureTexts } from "../../../services/monitor/src/ingest/raw-features";

function check(body: string): (string | undefined)[] | undefined {
  const features = (JSON.parse(body).events as { features: Record<string, unknown> }[]).map((e) => e.features);
  const raw = rawFeatureTexts(body, features);
  raw?.forEach((text, k) => {
    if (text !== undefined) expect(JSON.parse(text)).toEqual(features[k]);
  });
  return raw;
}

const ev = (features: unknown, extra = "") => `{"id":"r:0","features":${JSON.stringify(features)}${extra},"outputs":{"label":1}}`;

test("plain float32 features, compact or pretty-printed: cut from the body", () => {
  const f = { time: Math.fround(0.1), v1: -1.3598071336746216, amount: 149.6199951171875, flag: true, gone: null };
  const raw = check(`{"events":[${ev(f)},${ev({ ...f, v1: 2 })}]}`)!;
  expect(raw).toEqual([JSON.stringify(f), JSON.stringify({ ...f, v1: 2 })]);
  const pretty = JSON.stringify({ events: [{ id: "a:0", features: f, outputs: {} }] }, null, 2);
  expect(check(pretty)![0]).toContain("\n");
});

test.each([
  ["a string value", { city: "Oslo}" }],
  ["a key with a brace", { "a}b": 1 }],
  ["an escaped quote in a string", { s: 'he said "}"' }],
])("%s: left to JSON.stringify", (_name, features) => {
  expect(check(`{"events":[${ev(features)}]}`)).toEqual([undefined]);
});

test.each([
  ["a feature named features", `{"events":[${ev({ features: 1 })}]}`],
  ["a duplicated features key", `{"events":[{"id":"r:0","features":{"a":1},"features":{"a":2},"outputs":{}}]}`],
  ["a key that ends in features", `{"events":[{"id":"r:0","x\\"features":1,"features":{"a":1},"outputs":{}}]}`],
  ["features outside the events", `{"features":{"a":9},"events":[${ev({ a: 1 })}]}`],
])("%s: nothing is cut", (_name, body) => {
  expect(check(body)).toBeUndefined();
});

test("random bodies: whatever is cut equals what JSON.parse saw", () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pieces = ["}", "{", '"', "\\", "features", '"features":', " ", "\n", "é", "x"];
  const str = () => Array.from({ length: Math.floor(rnd() * 6) }, () => pieces[Math.floor(rnd() * pieces.length)]).join("");
  const value = () => {
    const r = rnd();
    return r < 0.5 ? Math.fround(rnd() * 100 - 50) : r < 0.6 ? null : r < 0.7 ? rnd() < 0.5 : str();
  };
  let cut = 0;
  for (let n = 0; n < 300; n++) {
    const events = Array.from({ length: 1 + Math.floor(rnd() * 4) }, (_, i) => {
      const features: Record<string, unknown> = {};
      for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) features[rnd() < 0.8 ? `f${k}` : str()] = value();
      return { id: rnd() < 0.9 ? `r${i}:0` : str(), features, outputs: { label: 1, note: rnd() < 0.2 ? str() : "x" } };
    });
    const body = JSON.stringify({ events }, null, rnd() < 0.3 ? 1 : undefined);
    cut += (check(body) ?? []).filter((t) => t !== undefined).length;
  }
  expect(cut).toBeGreaterThan(100);
});
