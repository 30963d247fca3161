/**
 * The challenger's share follows the weight a deploy records on the registered model
 * (`mlops.challenger_weight`, POST /models/{id}/deploy): serving reads the tag at each registry poll of
 * its challenger alias (against the MLflow stand-in), capped by MAX_CHALLENGER_WEIGHT; without the tag it
 * is CHALLENGER_WEIGHT, a tag that is no percentage is ignored with a warning, and shadow mode stays 0.
 *
 * The split is measured with 1,000 keyed requests: the routing key's hash decides the side, so the
 * number of challenger answers for a weight is known exactly in advance (no tolerance, nothing to flake).
 */
import pino from "pino";
import { MlflowClient } from "@mlops/common";
import { parseWeightTag } from "../../../services/serving/src/challenger-weight";
import { loadServingConfig } from "../../../services/serving/src/config";
import { TrafficSplit, stableHash } from "../../../services/serving/src/routing";
import { MlflowStub } from "../../helpers/mlflow-stub";
import { metric, post, row, startServing, tensor, waitFor, writeModel, type Running } from "./support";

const AUTH = { username: "serving", password: "s3cret-serving" };
const MODEL = "fraud";
const TAG = "mlops.challenger_weight";
const GET_MODEL = "/api/2.0/mlflow/registered-models/get";
/** The reload interval of these tests, and how long a poll may take on a busy 2-core box. */
const INTERVAL_S = 1;
const POLL_MS = 5000;
const KEYS = Array.from({ length: 1000 }, (_, i) => `customer-${i}`);

/** How many of KEYS the split sends to the challenger at `weight` percent: the hash decides, exactly. */
const expectedOnChallenger = (weight: number) => KEYS.filter((k) => stableHash(k) % 10_000 < Math.round(weight * 100)).length;

/** A pino logger whose lines are kept as objects. */
function recordingLogger() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** Sends one inference request per key (100 at a time) and counts the challenger's answers. */
async function challengerAnswers(s: Running): Promise<number> {
  let count = 0;
  for (let i = 0; i < KEYS.length; i += 100) {
    const answers = await Promise.all(KEYS.slice(i, i + 100).map((key) => post(`${s.url}/v2/models/${MODEL}/infer`, tensor([row(1)]), { "x-routing-key": key })));
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.body.parameters.variant).toBe(a.headers.get("x-model-variant"));
      if (a.headers.get("x-model-variant") === "challenger") count++;
    }
  }
  return count;
}

const weightGauge = (s: Running) => metric(s.metricsUrl, "mlops_serving_challenger_weight_percent", { model: MODEL });

describe("the challenger weight a deploy records in the registry", () => {
  let stub: MlflowStub;
  let mlflow: MlflowClient;
  let championVersion: string;
  let challengerVersion: string;

  beforeAll(async () => {
    stub = new MlflowStub({ basicAuth: AUTH });
    await stub.start();
    mlflow = new MlflowClient(stub.url, AUTH);
    const champion = await writeModel();
    const challenger = await writeModel(undefined, 2);
    championVersion = stub.registerVersion(MODEL, { dir: champion.dir, tags: { sha256: champion.sha256 }, aliases: ["champion"] });
    challengerVersion = stub.registerVersion(MODEL, { dir: challenger.dir, tags: { sha256: challenger.sha256 }, aliases: ["challenger"] });
  });
  afterAll(() => stub.stop());
  afterEach(() => mlflow.deleteRegisteredModelTag(MODEL, TAG).catch(() => undefined));

  const serve = (env: Record<string, string>, logger?: pino.Logger) =>
    startServing(
      {
        MODEL_URI: `models:/${MODEL}@champion`,
        CHALLENGER_URI: `models:/${MODEL}@challenger`,
        MODEL_NAME: MODEL,
        MLFLOW_TRACKING_URI: stub.url,
        MLFLOW_TRACKING_USERNAME: AUTH.username,
        MLFLOW_TRACKING_PASSWORD: AUTH.password,
        ...env,
      },
      logger,
    );

  test("absent -> 30 -> 80 (capped at 50) -> \"abc\" (ignored) -> removed: the split follows within one reload interval", async () => {
    const { logger, lines } = recordingLogger();
    const s = await serve({ CHALLENGER_WEIGHT: "10", MAX_CHALLENGER_WEIGHT: "50", RELOAD_INTERVAL_S: String(INTERVAL_S) }, logger);
    const changes = () => lines.filter((l) => l.msg.startsWith("challenger weight"));
    const setTag = async (value: string) => {
      await mlflow.setRegisteredModelTag(MODEL, TAG, value);
      return stub.calls(GET_MODEL).length;
    };
    /** Waits for a poll that began after `calls` registry reads, and has been applied. */
    const polledSince = (calls: number) => waitFor(async () => stub.calls(GET_MODEL).length > calls + 1, "the next registry poll", POLL_MS);
    try {
      expect(s.app.champion.current!.version).toBe(championVersion);
      expect(s.app.challenger!.current!.version).toBe(challengerVersion);
      // no tag yet: CHALLENGER_WEIGHT
      expect(await weightGauge(s)).toBe(10);
      expect(s.app.challengerWeight.source).toBe("config");
      const at10 = await challengerAnswers(s);
      expect(at10).toBe(expectedOnChallenger(10));
      expect(at10).toBeGreaterThan(50);
      expect(at10).toBeLessThan(150);

      // a deploy records 30: applied at the next poll
      const recorded = Date.now();
      await setTag("30");
      await waitFor(async () => (await weightGauge(s)) === 30, "weight 30 from the tag", POLL_MS);
      expect(Date.now() - recorded).toBeLessThan(INTERVAL_S * 1000 + 2000);
      expect(s.app.challengerWeight.source).toBe("tag");
      expect(changes().at(-1)).toMatchObject({ level: 30, model: MODEL, from: 10, to: 30, source: "tag", requested: 30, cap: 50 });
      const at30 = await challengerAnswers(s);
      expect(at30).toBe(expectedOnChallenger(30));
      expect(at30).toBeGreaterThan(230);
      expect(at30).toBeLessThan(370);
      // sticky: a key on the challenger at 10% stays there at 30% (the threshold only grew)
      for (const key of KEYS.filter((k) => new TrafficSplit(10).toChallenger(k)).slice(0, 5)) {
        expect((await post(`${s.url}/invocations`, { instances: [row(2)] }, { "x-routing-key": key })).body.variant).toBe("challenger");
      }

      // 80 is above this environment's cap: 50
      await setTag("80");
      await waitFor(async () => (await weightGauge(s)) === 50, "weight capped at 50", POLL_MS);
      expect(changes().at(-1)).toMatchObject({ from: 30, to: 50, source: "tag", requested: 80, cap: 50 });
      const at50 = await challengerAnswers(s);
      expect(at50).toBe(expectedOnChallenger(50));
      expect(at50).toBeGreaterThan(420);
      expect(at50).toBeLessThan(580);

      // not a number: ignored with one warning (not one per poll), the weight in use stays
      const changesBefore = changes().length;
      const calls = await setTag("abc");
      await polledSince(calls);
      await polledSince(stub.calls(GET_MODEL).length);
      const warnings = lines.filter((l) => l.level === 40 && l.msg.includes("is not a percentage"));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ model: MODEL, tag: TAG, value: "abc", weight: 50, source: "tag" });
      expect(await weightGauge(s)).toBe(50);
      expect(changes()).toHaveLength(changesBefore);
      expect(await challengerAnswers(s)).toBe(at50);
      // out of range is no percentage either
      await polledSince(await setTag("150"));
      expect(lines.filter((l) => l.level === 40 && l.msg.includes("is not a percentage")).map((l) => l.value)).toEqual(["abc", "150"]);
      expect(await weightGauge(s)).toBe(50);

      // the tag removed: CHALLENGER_WEIGHT again
      await mlflow.deleteRegisteredModelTag(MODEL, TAG);
      await waitFor(async () => (await weightGauge(s)) === 10, "weight 10 from the configuration", POLL_MS);
      expect(changes().at(-1)).toMatchObject({ from: 50, to: 10, source: "config", requested: 10 });
      expect(await challengerAnswers(s)).toBe(at10);
      expect(lines.some((l) => l.level >= 50)).toBe(false);
    } finally {
      await s.stop();
    }
  });

  test("a registry that cannot be read keeps the weight in use (counted, logged once); shadow mode stays 0 and reads no tag", async () => {
    await mlflow.setRegisteredModelTag(MODEL, TAG, "20");
    const { logger, lines } = recordingLogger();
    const s = await serve({ CHALLENGER_WEIGHT: "5" }, logger);
    try {
      // the first poll read the tag before the challenger's first version loaded
      expect(await weightGauge(s)).toBe(20);
      expect(await challengerAnswers(s)).toBe(expectedOnChallenger(20));
      await mlflow.setRegisteredModelTag(MODEL, TAG, "40");
      stub.failNext(GET_MODEL, 503, 2);
      await s.app.challenger!.poll();
      await s.app.challenger!.poll();
      expect(await weightGauge(s)).toBe(20);
      expect(await metric(s.metricsUrl, "mlops_model_registry_errors_total", { model: MODEL, variant: "challenger" })).toBe(2);
      expect(lines.filter((l) => l.msg.startsWith("could not read the registry's mlops.challenger_weight tag"))).toHaveLength(1);
      await s.app.challenger!.poll();
      expect(await weightGauge(s)).toBe(40);
      expect(lines.filter((l) => l.msg.includes("tag can be read again"))).toHaveLength(1);
    } finally {
      await s.stop();
    }

    const shadow = await serve({ SHADOW: "true" });
    try {
      const reads = stub.calls(GET_MODEL).length;
      await shadow.app.challenger!.poll();
      expect(stub.calls(GET_MODEL).length).toBe(reads);
      expect(await weightGauge(shadow)).toBe(0);
      expect(await challengerAnswers(shadow)).toBe(0);
    } finally {
      await shadow.stop();
    }
  });

  test("a pinned challenger version keeps CHALLENGER_WEIGHT (capped) and never asks for the tag", async () => {
    await mlflow.setRegisteredModelTag(MODEL, TAG, "40");
    const reads = stub.calls(GET_MODEL).length;
    const s = await serve({ CHALLENGER_URI: `models:/${MODEL}/${challengerVersion}`, CHALLENGER_WEIGHT: "30", MAX_CHALLENGER_WEIGHT: "10" });
    try {
      await s.app.challenger!.poll();
      expect(stub.calls(GET_MODEL).length).toBe(reads);
      expect(await weightGauge(s)).toBe(10);
      expect(s.app.challengerWeight.source).toBe("config");
      expect(await challengerAnswers(s)).toBe(expectedOnChallenger(10));
    } finally {
      await s.stop();
    }
  });
});

test("no challenger: no weight series", async () => {
  const m = await writeModel();
  const s = await startServing({ MODEL_URI: m.uri, MODEL_NAME: MODEL });
  try {
    expect(await weightGauge(s)).toBeUndefined();
  } finally {
    await s.stop();
  }
});

test("the split's weight can be changed while it is used; tag values are plain percentages", () => {
  const split = new TrafficSplit(10);
  expect(split.weight).toBe(10);
  const onAt10 = KEYS.filter((k) => split.toChallenger(k));
  split.setWeight(30);
  expect(split.weight).toBe(30);
  const onAt30 = KEYS.filter((k) => split.toChallenger(k));
  // a larger share keeps every key it had (sticky) and adds others
  expect(onAt30).toEqual(expect.arrayContaining(onAt10));
  expect(onAt30).toHaveLength(expectedOnChallenger(30));
  split.setWeight(12.345);
  expect(split.weight).toBe(12.35);
  split.setWeight(0);
  expect(KEYS.some((k) => split.toChallenger(k))).toBe(false);
  for (const bad of [-1, 100.5, Number.NaN]) expect(() => split.setWeight(bad)).toThrow(RangeError);
  expect(split.weight).toBe(0);

  expect(["0", "10", "2.5", " 30 ", "100"].map(parseWeightTag)).toEqual([0, 10, 2.5, 30, 100]);
  for (const bad of ["", "abc", "-5", "100.01", "150", "1e1", "0x10", "10%", "NaN", "Infinity"]) expect(parseWeightTag(bad)).toBeUndefined();
});

describe("MAX_CHALLENGER_WEIGHT", () => {
  const base = { MODEL_URI: "file:///m", CHALLENGER_URI: "file:///c" };

  test("defaults to 100 (no cap) and takes 0-100, decimals allowed", () => {
    expect(loadServingConfig(base).MAX_CHALLENGER_WEIGHT).toBe(100);
    expect(loadServingConfig({ ...base, MAX_CHALLENGER_WEIGHT: "10" }).MAX_CHALLENGER_WEIGHT).toBe(10);
    expect(loadServingConfig({ ...base, MAX_CHALLENGER_WEIGHT: "0" }).MAX_CHALLENGER_WEIGHT).toBe(0);
    expect(loadServingConfig({ ...base, MAX_CHALLENGER_WEIGHT: "12.5" }).MAX_CHALLENGER_WEIGHT).toBe(12.5);
  });

  test("anything else stops the start, naming the variable", () => {
    for (const bad of ["150", "-1", "ten"]) {
      expect(() => loadServingConfig({ ...base, MAX_CHALLENGER_WEIGHT: bad })).toThrow(`MAX_CHALLENGER_WEIGHT="${bad}": expected 0-100`);
    }
  });

  test("a CHALLENGER_WEIGHT above it is started with, capped (with a warning), not refused", async () => {
    const champion = await writeModel();
    const challenger = await writeModel(undefined, 2);
    const { logger, lines } = recordingLogger();
    const s = await startServing({ MODEL_URI: champion.uri, CHALLENGER_URI: challenger.uri, CHALLENGER_WEIGHT: "30", MAX_CHALLENGER_WEIGHT: "10", MODEL_NAME: MODEL }, logger);
    try {
      expect(lines.find((l) => l.msg.startsWith("CHALLENGER_WEIGHT is above MAX_CHALLENGER_WEIGHT"))).toMatchObject({ level: 40, configured: 30, cap: 10 });
      expect(await weightGauge(s)).toBe(10);
      expect(await challengerAnswers(s)).toBe(expectedOnChallenger(10));
    } finally {
      await s.stop();
    }
  });
});
