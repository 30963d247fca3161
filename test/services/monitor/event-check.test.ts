/**
 * services/common's fast event check (the monitor's hot path) must never accept what the contract's
 * zod schema refuses: every mutation below is judged by both, and the fast check may only be stricter.
 */
import { eventBatchSchema, isValidEventBatchFast } from "@mlops/common";

const good = {
  id: "req-1:0",
  requestId: "req-1",
  model: "fraud-detector",
  version: "3",
  variant: "champion",
  timestamp: "2026-11-23T00:00:00.123Z",
  features: { time: 1, v1: -0.5, city: "Oslo", flag: true, missing: null },
  outputs: { label: 1, probability: 0.93, scores: [0.07, 0.93] },
};

const mutations: [string, Record<string, unknown>][] = [
  ["as is", {}],
  ["empty id", { id: "" }],
  ["long id", { id: "x".repeat(257) }],
  ["numeric version", { version: 3 }],
  ["long version", { version: "v".repeat(65) }],
  ["unknown variant", { variant: "canary" }],
  ["date only", { timestamp: "2026-11-23" }],
  ["no offset", { timestamp: "2026-11-23T00:00:00" }],
  ["offset", { timestamp: "2026-11-23T01:00:00+01:00" }],
  ["month 13", { timestamp: "2026-13-01T00:00:00Z" }],
  ["february 30", { timestamp: "2026-02-30T00:00:00Z" }],
  ["features array", { features: [1, 2] }],
  ["nested feature", { features: { a: { b: 1 } } }],
  ["array feature", { features: { a: [1] } }],
  ["outputs null", { outputs: null }],
  ["string in score array", { outputs: { scores: [0.1, "x"] } }],
  ["nested output", { outputs: { a: { b: 1 } } }],
  ["missing model", { model: undefined }],
  ["extra field", { extra: "ignored" }],
];

test.each(mutations)("%s: the fast check agrees with the schema or refuses", (_name, change) => {
  const event = { ...good, ...change };
  for (const key of Object.keys(change)) if (change[key] === undefined) delete (event as Record<string, unknown>)[key];
  const body = JSON.parse(JSON.stringify({ events: [good, event] }));
  const schema = eventBatchSchema.safeParse(body).success;
  const fast = isValidEventBatchFast(body);
  if (fast) expect(schema).toBe(true);
  // For the plain cases it must also accept (else the hot path would never be taken).
  if (["as is", "offset", "extra field"].includes(_name)) expect(fast).toBe(true);
});

test("not a batch, or an empty one", () => {
  for (const body of [null, [], {}, { events: [] }, { events: {} }, "x"]) {
    expect(isValidEventBatchFast(body)).toBe(false);
    expect(eventBatchSchema.safeParse(body).success).toBe(false);
  }
});
