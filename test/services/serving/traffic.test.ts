import { get, metric, post, row, startServing, tensor, waitFor, writeModel, eventSink, expectedProbability, sinkEnv } from "./support";
import { TrafficSplit, stableHash } from "../../../services/serving/src/routing";

/** Champion/challenger: a weighted, sticky split, and shadow mode whose answers are never returned. */
let champion: { uri: string };
let challenger: { uri: string };
beforeAll(async () => {
  champion = await writeModel();
  challenger = await writeModel(undefined, 2);
});

test("a 30% challenger gets about 30% of requests; a routing key always lands on the same side", async () => {
  const s = await startServing({ MODEL_URI: champion.uri, CHALLENGER_URI: challenger.uri, CHALLENGER_WEIGHT: "30", MODEL_NAME: "fraud" });
  try {
    const variants = await Promise.all(Array.from({ length: 600 }, () => post(`${s.url}/v2/models/fraud/infer`, tensor([row(1)])).then((r) => r.body.parameters.variant as string)));
    const challenged = variants.filter((v) => v === "challenger").length;
    // binomial(600, 0.3): mean 180, sd 11.2; +-5 sd
    expect(challenged).toBeGreaterThan(124);
    expect(challenged).toBeLessThan(236);
    // the challenger really answers: its probabilities come from its own weights (bias + 2)
    const byVariant = new Map<string, number>();
    for (let i = 0; byVariant.size < 2 && i < 200; i++) {
      const res = await post(`${s.url}/v2/models/fraud/infer`, tensor([row(1)]));
      byVariant.set(res.headers.get("x-model-variant")!, res.body.outputs[1].data[0]);
    }
    expect(byVariant.get("champion")).toBeCloseTo(expectedProbability(row(1)), 5);
    expect(byVariant.get("challenger")).toBeCloseTo(expectedProbability(row(1), 2), 5);
    // sticky: 40 keys x 5 requests each
    let keysOnChallenger = 0;
    for (let k = 0; k < 40; k++) {
      const seen = new Set<string>();
      for (let i = 0; i < 5; i++) seen.add((await post(`${s.url}/invocations`, { instances: [row(2)] }, { "x-routing-key": `customer-${k}` })).body.variant);
      expect(seen.size).toBe(1);
      if (seen.has("challenger")) keysOnChallenger++;
    }
    expect(keysOnChallenger).toBeGreaterThan(0);
    expect(keysOnChallenger).toBeLessThan(40);
    // both versions are addressable by version
    const challengerVersion = s.app.challenger!.current!.version;
    const pinned = await post(`${s.url}/v2/models/fraud/versions/${challengerVersion}/infer`, tensor([row(1)]));
    expect(pinned.body).toMatchObject({ model_version: challengerVersion, parameters: { variant: "challenger" } });
    expect((await get(`${s.url}/v2/models/fraud`)).body.versions).toEqual([s.app.champion.current!.version, challengerVersion]);
    expect(await metric(s.metricsUrl, "mlops_model_info", { variant: "challenger", version: challengerVersion })).toBe(1);
  } finally {
    await s.stop();
  }
});

test("the split function: weight boundaries, fractional weights, stable and even hashing", () => {
  expect(new TrafficSplit(0).toChallenger("x")).toBe(false);
  expect(new TrafficSplit(100).toChallenger("x")).toBe(true);
  const split = new TrafficSplit(2.5);
  const share = Array.from({ length: 20_000 }, (_, i) => split.toChallenger(`user-${i}`)).filter(Boolean).length / 20_000;
  expect(share).toBeGreaterThan(0.02);
  expect(share).toBeLessThan(0.03);
  expect(stableHash("user-1")).toBe(stableHash("user-1"));
  expect(stableHash("user-1")).not.toBe(stableHash("user-2"));
});

test("shadow mode: the challenger runs on a copy of every request; its answers are recorded, never returned", async () => {
  const sink = await eventSink();
  const s = await startServing({ MODEL_URI: champion.uri, CHALLENGER_URI: challenger.uri, SHADOW: "true", MODEL_NAME: "fraud", ...sinkEnv(sink), EVENT_FLUSH_MS: "20" });
  try {
    const championVersion = s.app.champion.current!.version;
    const shadowVersion = s.app.challenger!.current!.version;
    for (let i = 0; i < 30; i++) {
      const res = await post(`${s.url}/v2/models/fraud/infer`, tensor([row(i + 1)], { id: `r${i}` }), { "x-routing-key": `k${i}` });
      expect(res.body).toMatchObject({ model_version: championVersion, parameters: { variant: "champion" } });
      expect(res.body.outputs[1].data[0]).toBeCloseTo(expectedProbability(row(i + 1)), 5);
    }
    // the shadow version cannot be asked for answers, even by version
    const direct = await post(`${s.url}/v2/models/fraud/versions/${shadowVersion}/infer`, tensor([row(1)]));
    expect(direct.status).toBe(404);
    expect(direct.body.error).toContain("runs in shadow mode");
    await waitFor(() => sink.batches.flatMap((b) => b.events).length >= 60, "60 events (30 champion, 30 shadow)");
    const events = sink.batches.flatMap((b) => b.events);
    const shadow = events.filter((e) => e.variant === "shadow");
    expect(shadow).toHaveLength(30);
    expect(new Set(shadow.map((e) => e.version))).toEqual(new Set([shadowVersion]));
    const champ = new Map(events.filter((e) => e.variant === "champion").map((e) => [e.id, e]));
    for (const e of shadow) {
      const c = champ.get(e.id)!;
      expect(e.features).toEqual(c.features);
      expect(e.outputs.probability).toBeCloseTo(expectedProbability(Object.values(c.features) as number[], 2), 5);
    }
    expect(await metric(s.metricsUrl, "mlops_inference_rows_total", { variant: "shadow", version: shadowVersion })).toBe(30);
    expect(await metric(s.metricsUrl, "mlops_model_info", { variant: "shadow", version: shadowVersion })).toBe(1);
  } finally {
    await s.stop();
    await sink.close();
  }
});
