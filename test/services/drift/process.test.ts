/** The service as its container runs it: env validation at start-up, SIGTERM drains and exits 0. */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { EVENTS_TOKEN, MODEL, referenceProfile, waitFor, writeProfile } from "./helpers/world";

const MAIN = path.join(__dirname, "../../../services/drift/src/main.ts");

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", MAIN], {
    env: { PATH: process.env.PATH ?? "", EVENTS_TOKEN, ...env },
    cwd: path.join(__dirname, "../../.."),
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

/** The "drift listening" log line (its ports), once the process printed it. */
async function listening(p: ReturnType<typeof start>): Promise<{ apiPort: number; metricsPort: number }> {
  await waitFor(() => /drift listening/.test(p.out()) || undefined, "the service to listen", 30_000);
  return JSON.parse(p.out().split("\n").find((l) => l.includes("drift listening"))!);
}

describe("drift service process", () => {
  it("refuses bad configuration with one clear message and exit status 1", async () => {
    const p = start({ MODEL_NAME: MODEL, REFERENCE_URI: "models:/fraud-detector@champion", EVALUATION_INTERVAL_S: "soon", WEBHOOK_URLS: "not a url" });
    expect(await p.exited).toBe(1);
    expect(p.err()).toMatch(/^drift: invalid configuration:/);
    expect(p.err()).toMatch(/EVALUATION_INTERVAL_S="soon"/);
    expect(p.err()).toMatch(/WEBHOOK_URLS/);
    expect(p.err()).toMatch(/MLFLOW_TRACKING_URI=\(unset\): required when REFERENCE_URI is a registry URI/);
  });

  it("without its reference file it still starts: live, not ready (the warning names the file), ready once the file appears", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "drift-process-")), "profile.json");
    const p = start({ MODEL_NAME: MODEL, REFERENCE_URI: file, REFERENCE_RETRY_INTERVAL_S: "0.2", PORT: "0", METRICS_PORT: "0", HOST: "127.0.0.1" });
    try {
      const base = `http://127.0.0.1:${(await listening(p)).apiPort}`;
      expect((await fetch(`${base}/health/live`)).status).toBe(200);
      expect((await fetch(`${base}/health/ready`)).status).toBe(503);
      await waitFor(() => p.out().includes("reference profile not available yet") || undefined, "the warning");
      expect(p.out()).toContain(`cannot read the reference profile ${file}`);
      writeFileSync(file, JSON.stringify(referenceProfile(2000)));
      await waitFor(async () => (await fetch(`${base}/health/ready`)).status === 200 || undefined, "readiness");
      // one warning for the repeated reason, however many attempts it took
      expect(p.out().split("\n").filter((l) => l.includes("reference profile not available yet"))).toHaveLength(1);
    } finally {
      p.child.kill("SIGTERM");
      expect(await p.exited).toBe(0);
    }
  });

  it("serves, then drains and exits 0 on SIGTERM", async () => {
    const p = start({ MODEL_NAME: MODEL, REFERENCE_URI: writeProfile(referenceProfile(2000)), PORT: "0", METRICS_PORT: "0", HOST: "127.0.0.1" });
    const base = `http://127.0.0.1:${(await listening(p)).apiPort}`;
    // the service listens first and loads the reference right after
    await waitFor(async () => (await fetch(`${base}/health/ready`)).status === 200 || undefined, "readiness");
    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    expect(p.out()).toMatch(/"msg":"drift stopped"/);
  });
});
