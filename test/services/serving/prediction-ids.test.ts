/**
 * OIP `parameters.prediction_ids`: a client that names its rows (the platform API's batches) finds each
 * row's event under its own id, which is the id ground truth is later sent for; bad lists are 400s that
 * name the row, and requests without them keep `<request id>:<row>`.
 */
import { eventSink, post, row, sinkEnv, startServing, tensor, waitFor, writeModel, type Running, type Sink } from "./support";

describe("per-row prediction ids in Open Inference Protocol requests", () => {
  let s: Running;
  let sink: Sink;
  const infer = () => `${s.url}/v2/models/fraud/infer`;
  const events = () => sink.batches.flatMap((b) => b.events as { id: string; requestId: string }[]);

  beforeAll(async () => {
    sink = await eventSink();
    s = await startServing({ MODEL_URI: (await writeModel()).uri, MODEL_NAME: "fraud", ...sinkEnv(sink), EVENT_FLUSH_MS: "20" });
  });
  afterAll(async () => {
    await s.stop();
    await sink.close();
  });

  test("the events carry the client's id of each row, and the answer is unchanged", async () => {
    const res = await post(infer(), tensor([row(1), row(2), row(3)], { id: "batch-1", parameters: { prediction_ids: ["pred_a", "pred_b", "pred_c"] } }));
    expect(res.status).toBe(200);
    expect(res.body.id).toBe("batch-1");
    expect(res.body.outputs.map((o: { name: string; shape: number[] }) => [o.name, o.shape])).toEqual([["label", [3]], ["probability", [3]]]);
    await waitFor(() => events().filter((e) => e.requestId === "batch-1").length === 3, "3 events of batch-1");
    expect(events().filter((e) => e.requestId === "batch-1").map((e) => e.id)).toEqual(["pred_a", "pred_b", "pred_c"]);
  });

  test("without prediction ids the events keep <request id>:<row>", async () => {
    expect((await post(infer(), tensor([row(1), row(2)], { id: "plain-1" }))).status).toBe(200);
    await waitFor(() => events().filter((e) => e.requestId === "plain-1").length === 2, "2 events of plain-1");
    expect(events().filter((e) => e.requestId === "plain-1").map((e) => e.id)).toEqual(["plain-1:0", "plain-1:1"]);
  });

  test.each([
    [["a"], "parameters.prediction_ids has 1 ids for 2 rows; give one per row", "INVALID_INPUT"],
    [["a", "a"], 'parameters.prediction_ids[1] repeats "a"; each row needs its own id', "INVALID_ID"],
    [["a", ""], "parameters.prediction_ids[1] must be 1 to 128 printable ASCII characters; got an empty string", "INVALID_ID"],
    [["a", 7], "parameters.prediction_ids[1] must be 1 to 128 printable ASCII characters; got number", "INVALID_ID"],
    ["a,b", '"parameters.prediction_ids" must be a list of strings, one per row', "INVALID_INPUT"],
  ])("prediction_ids %j is refused with 400 naming the problem, and nothing is published", async (ids, error, code) => {
    const before = sink.batches.length;
    const res = await post(infer(), tensor([row(1), row(2)], { id: "bad-ids", parameters: { prediction_ids: ids } }));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error, code });
    await new Promise((r) => setTimeout(r, 60));
    expect(sink.batches.length).toBe(before);
  });
});
