/** The service as its container runs it: env validation at start-up, SIGTERM drains and exits 0. */
import { spawn } from "node:child_process";
import path from "node:path";
import { MODEL, referenceProfile, writeProfile } from "./helpers/world";

const MAIN = path.join(__dirname, "../../../services/drift/src/main.ts");

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", MAIN], {
    env: { PATH: process.env.PATH ?? "", ...env },
    cwd: path.join(__dirname, "../../.."),
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

describe("drift service process", () => {
  it("refuses bad configuration with one clear message and exit status 1", async () => {
    const p = start({ MODEL_NAME: MODEL, REFERENCE_URI: "models:/fraud-detector@champion", EVALUATION_INTERVAL_S: "soon", WEBHOOK_URLS: "not a url" });
    expect(await p.exited).toBe(1);
    expect(p.err()).toMatch(/^invalid configuration:/);
    expect(p.err()).toMatch(/EVALUATION_INTERVAL_S="soon"/);
    expect(p.err()).toMatch(/WEBHOOK_URLS/);
    expect(p.err()).toMatch(/MLFLOW_TRACKING_URI=\(unset\): required when REFERENCE_URI is a registry URI/);
  });

  it("exits 1 when the reference file cannot be read", async () => {
    const p = start({ MODEL_NAME: MODEL, REFERENCE_URI: "/nonexistent/profile.json", PORT: "0", METRICS_PORT: "0", HOST: "127.0.0.1" });
    expect(await p.exited).toBe(1);
    expect(p.err()).toMatch(/cannot read the reference profile \/nonexistent\/profile\.json/);
  });

  it("serves, then drains and exits 0 on SIGTERM", async () => {
    const p = start({ MODEL_NAME: MODEL, REFERENCE_URI: writeProfile(referenceProfile(2000)), PORT: "0", METRICS_PORT: "0", HOST: "127.0.0.1" });
    const deadline = Date.now() + 30_000;
    while (!/drift listening/.test(p.out()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const listening = JSON.parse(p.out().split("\n").find((l) => l.includes("drift listening"))!);
    const res = await fetch(`http://127.0.0.1:${listening.apiPort}/health/ready`);
    expect(res.status).toBe(200);
    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    expect(p.out()).toMatch(/"msg":"drift stopped"/);
  });
});
