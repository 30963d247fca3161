/**
 * End to end: `npm start -- --free-ports --state-dir <dir>` as a person runs it (npm, its shell, the
 * launcher, in a process group of their own, as in a terminal), the demo traffic with its shift, and what
 * must follow within a bounded time: drift in drift's metrics, the alert firing in Prometheus and
 * reaching the monitor, the monitor's action recorded and its signed retraining request received; serving
 * and drift on the registry's champion, following an alias move. Then
 * Ctrl-C (SIGINT to the whole group, as a terminal sends it) stops every process, and npm exits 0 only
 * once they have stopped.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { isAlive, statePath, type PlatformState } from "../../scripts/local/layout";
import { bearer, readCredentials } from "../../scripts/local/credentials";
import { runDemoTraffic, type DemoResult } from "../../scripts/local/demo-traffic";
import { readAdminPassword } from "../../scripts/local/admin-password";
import { ApiSession } from "../../scripts/local/api-session";
import { metricValue } from "../helpers/metrics";
import { MlflowClient } from "@mlops/common";

const ROOT = path.resolve(__dirname, "../..");
jest.setTimeout(300_000);

describe("the local platform (npm start + npm run demo:traffic)", () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), "mlops-local-"));
  // As root, PostgreSQL runs as the postgres user, which must reach its data directory in here.
  chmodSync(stateDir, 0o755);
  let launcher: ChildProcess;
  let output = "";
  let state: PlatformState;
  let result: DemoResult;

  beforeAll(async () => {
    // detached: npm leads a process group of its own, which Ctrl-C (below) signals as a terminal does.
    launcher = spawn("npm", ["start", "--", "--free-ports", "--state-dir", stateDir], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
    launcher.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    launcher.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 180_000;
    while (!existsSync(statePath(stateDir))) {
      if (launcher.exitCode !== null) throw new Error(`the launcher exited (${launcher.exitCode}):\n${output}`);
      if (Date.now() > deadline) throw new Error(`the platform did not start within 180 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    state = JSON.parse(readFileSync(statePath(stateDir), "utf8"));
  });

  afterAll(async () => {
    if (launcher.exitCode === null && launcher.signalCode === null) {
      ctrlC(launcher);
      await new Promise((r) => launcher.once("exit", r));
    }
    rmSync(stateDir, { recursive: true, force: true });
  });

  test("starts every component from the Debian packages and the built services", () => {
    expect(state.components.map((c) => [c.name, c.status]).sort()).toEqual(
      ["alertmanager", "api", "drift", "mlflow", "monitor", "postgres", "prometheus", "retrain-hook", "serving"].map((n) => [n, "running"]),
    );
    expect(output).toContain("The local platform is up");
    // No MLOPS_ADMIN_PASSWORD here: the API's admin password is generated, shown once and kept for the demo.
    const password = readFileSync(path.join(stateDir, "config", "admin-password"), "utf8").trim();
    expect(output).toContain(`"admin", password ${password}   (generated, shown once`);
    expect(statSync(path.join(stateDir, "config", "admin-password")).mode & 0o777).toBe(0o600);
  });

  test("the demo shift shows as drift, a firing alert and the monitor's recorded action", async () => {
    result = await runDemoTraffic({ state, baselineSeconds: 10, timeoutSeconds: 150 });
    expect(result.failedRequests).toBe(0);
    expect(result.missing).toEqual([]);
    expect(result.milestones.driftDetected).toBeLessThanOrEqual(result.milestones.alertFiring!);
    expect(result.feedbackSent).toBe(result.rows);
    // Through the platform API: logged in, the registry's champion, one explained prediction, its ground
    // truth with a note, and the predictions the monitor kept for the demo's time.
    expect(result.api).toMatchObject({ user: "admin", role: "admin", championVersion: "1" });
    expect(result.api!.championAccuracy).toBeGreaterThan(0.85);
    expect(result.api!.explained!.top).toHaveLength(3);
    expect(["joined", "pending"]).toContain(result.api!.feedback!.status);
    expect(result.api!.history!.total).toBeGreaterThanOrEqual(result.rows * 0.9);

    const driftMetrics = await (await fetch(state.urls.driftMetrics)).text();
    expect(metricValue(driftMetrics, "mlops_drift_share", { model: state.model })).toBeGreaterThanOrEqual(0.3);
    expect(metricValue(driftMetrics, "mlops_drift_detected", { model: state.model, feature: "v14" })).toBe(1);
    expect(metricValue(driftMetrics, "mlops_drift_detected", { model: state.model, feature: "time" })).toBe(0);

    const alerts = (await (await fetch(`${state.urls.prometheus}/api/v1/alerts`)).json()) as { data: { alerts: { state: string; labels: Record<string, string> }[] } };
    const drift = alerts.data.alerts.find((a) => a.labels.alertname === "DataDriftDetected");
    expect(drift).toMatchObject({ state: "firing", labels: { model: state.model, platform: "mlops", severity: "warning" } });

    // The demo stops once an action is recorded; its retraining call may still be in flight then.
    const action = await succeededRetrain(state, result.actions);
    expect(action).toBeDefined();
    expect(["DataDriftDetected", "ModelQualityLow"]).toContain(action!.alertname);
    const requests = readFileSync(path.join(stateDir, "logs", "retrain-requests.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(requests.some((r) => r.model === state.model && r.alertname === action!.alertname)).toBe(true);
  });

  test("serving and drift load the registry's champion, and follow it when a deploy through the API moves the alias", async () => {
    const registry = new MlflowClient(state.urls.mlflow);
    const champion = await registry.getModelVersionByAlias(state.model, "champion");
    const sha256 = champion.tags?.find((t) => t.key === "sha256")?.value;
    expect(champion.version).toBe("1");
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    // The seed's run carries the model's quality on held-out data.
    const metrics = (await registry.getRun(champion.run_id!)).data.metrics!.map((m) => m.key).sort();
    expect(metrics).toEqual(["accuracy", "f1_score", "precision", "recall"]);

    const key = { authorization: `Bearer ${readCredentials(state.credentialsFile).servingApiKey}` };
    const served = async () => (await (await fetch(`${state.urls.serving}/v2/models/${state.model}`, { headers: key })).json()) as { versions: string[]; parameters: { version: string; sha256: string } };
    const reference = async () => ((await (await fetch(`${state.urls.drift}/v1/reference`)).json()) as { uri: string }).uri;
    expect(await served()).toMatchObject({ versions: ["1"], parameters: { version: "1", sha256 } });
    expect(await reference()).toBe(`models:/${state.model}/1`);

    // A new version from the same files, then the approval through the platform API: its deploy gate
    // checks the version (signature, sha256, ONNX Runtime on the input example, the run's metrics) and
    // moves the champion alias.
    const next = await registry.createModelVersion(state.model, champion.source!, { runId: champion.run_id, tags: { sha256: sha256! } });
    const api = await ApiSession.login(state.urls.api!, "admin", readAdminPassword(path.join(stateDir, "config"))!);
    const deployed = await api.request<{ version: string; previous_version: string; checks: { name: string; passed: boolean }[] }>("POST", `/models/${state.model}/deploy`, {
      version: next.version,
      alias: "champion",
      environment: "dev",
    });
    expect(deployed).toMatchObject({ version: next.version, previous_version: "1" });
    expect(deployed.checks.filter((c) => !c.passed)).toEqual([]);
    expect((await registry.getModelVersionByAlias(state.model, "champion")).version).toBe(next.version);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && ((await served()).parameters.version !== next.version || (await reference()) !== `models:/${state.model}/${next.version}`)) {
      await new Promise((r) => setTimeout(r, 500));
    }
    expect((await served()).parameters).toMatchObject({ version: next.version, sha256 });
    expect(await reference()).toBe(`models:/${state.model}/${next.version}`);
  });

  test("every service asks for its own credential; the callers' credentials are readable by the user only", async () => {
    expect(statSync(state.credentialsFile).mode & 0o777).toBe(0o600);
    const c = readCredentials(state.credentialsFile);
    const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    const forged = { events: [{ id: "forged:0", requestId: "forged", model: state.model, version: "1", variant: "champion", timestamp: new Date().toISOString(), features: {}, outputs: { label: 1 } }] };

    expect((await post(`${state.urls.serving}/invocations`, { dataframe_split: { columns: [], data: [] } })).status).toBe(401);
    expect((await post(`${state.urls.monitor}/v1/events`, forged)).status).toBe(401);
    // Serving's drift token does not open the monitor, nor the other way round.
    expect((await post(`${state.urls.monitor}/v1/events`, forged, bearer(c.driftEventsToken))).status).toBe(401);
    expect((await post(`${state.urls.drift}/v1/events`, forged, bearer(c.monitorEventsToken))).status).toBe(401);
    expect((await post(`${state.urls.monitor}/v1/feedback`, { prediction_id: "forged:0", actual: 0 }, bearer(c.monitorEventsToken))).status).toBe(401);
    expect((await fetch(`${state.urls.monitor}/v1/alerts/actions`)).status).toBe(401);
    expect((await fetch(`${state.urls.monitor}/v1/alerts/actions`, { headers: bearer(c.readToken) })).status).toBe(200);
    // The receiver is not on the API port, whatever the token.
    expect((await post(`${state.urls.monitor}/v1/alerts`, { version: "4", alerts: [] }, bearer(c.alertReceiverToken))).status).toBe(404);
  });

  test("the launcher names the demo's command for its state directory", () => {
    expect(output).toContain(`Next, in another terminal: npm run demo:traffic -- --state-dir ${stateDir}`);
  });

  test("Ctrl-C stops every process and removes the state file; npm exits 0, after its children", async () => {
    const pids = [state.launcherPid, ...state.components.flatMap((c) => (c.pid ? [c.pid] : []))];
    expect(pids.every(isAlive)).toBe(true);
    const exited = new Promise<[number | null, string | null, number[]]>((r) => launcher.once("exit", (code, signal) => r([code, signal, pids.filter(isAlive)])));
    ctrlC(launcher);
    // At the moment npm exits, the launcher and everything it started are gone already.
    expect(await exited).toEqual([0, null, []]);
    expect(existsSync(statePath(stateDir))).toBe(false);
    expect(output).toContain("stopped.");
  });
});

/** Ctrl-C in a terminal: SIGINT to the foreground process group (npm, its shell, the launcher). */
function ctrlC(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, "SIGINT");
  } catch {
    // The group is gone.
  }
}

type RecordedAction = DemoResult["actions"][number];

/** The first succeeded retrain action, polling the monitor a bounded while for one still in flight. */
async function succeededRetrain(state: PlatformState, seen: RecordedAction[]): Promise<RecordedAction | undefined> {
  const isDone = (a: RecordedAction) => a.action === "retrain" && a.status === "succeeded";
  const deadline = Date.now() + 30_000;
  let actions = seen;
  while (!actions.some(isDone) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    const res = await fetch(`${state.urls.monitor}/v1/alerts/actions?model=${state.model}&limit=50`, { headers: bearer(readCredentials(state.credentialsFile).readToken) });
    actions = ((await res.json()) as { actions: RecordedAction[] }).actions;
  }
  return actions.find(isDone);
}
