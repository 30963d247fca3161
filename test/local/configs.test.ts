/**
 * The local platform's generated configuration, checked by the tools of the real servers (promtool,
 * amtool from the Debian packages), and its command-line errors.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { buildAlertRules } from "../../components/kubernetes/alert-rules";
import { PROFILES } from "../../infra/profiles";
import { choosePorts, DEFAULT_PORTS, demoTrafficCommand, LOCAL_TIMINGS, MODEL_NAME, resolveStateDir, STATE_DIR_ENV } from "../../scripts/local/layout";
import { localAlertmanagerConfig, localAlertRules, prometheusConfig } from "../../scripts/local/monitoring";
import { CHAMPION_URI, modelRegistryProcess } from "../../scripts/local/registry";

const ROOT = path.resolve(__dirname, "../..");
const dir = mkdtempSync(path.join(tmpdir(), "mlops-local-config-"));

function tool(command: string, args: string[]) {
  const r = spawnSync(command, args, { encoding: "utf8" });
  if (r.error) throw new Error(`${command} is missing: run the README's set-up command (bash scripts/setup.sh). ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("generated configuration", () => {
  test("the alert rules are the deployed ones with local durations, and promtool accepts them", () => {
    const rules = path.join(dir, "alert-rules.yml");
    writeFileSync(rules, localAlertRules());
    const check = tool("promtool", ["check", "rules", rules]);
    expect(check.output).toMatch(/SUCCESS: 13 rules found/);
    expect(check.status).toBe(0);

    const local = parse(localAlertRules()).groups as { rules: { alert: string; expr: string; for: string }[] }[];
    const deployed = buildAlertRules({ ...PROFILES.dev.alerts, models: [{ name: MODEL_NAME, accuracyThreshold: 0.85 }] });
    expect(local.flatMap((g) => g.rules.map((r) => r.alert))).toEqual(deployed.flatMap((g) => g.rules.map((r) => r.alert)));
    expect(new Set(local.flatMap((g) => g.rules.map((r) => r.for)))).toEqual(new Set([LOCAL_TIMINGS.alertFor]));
    const drift = local.flatMap((g) => g.rules).find((r) => r.alert === "DataDriftDetected")!;
    expect(drift.expr).toBe(deployed.flatMap((g) => g.rules).find((r) => r.alert === "DataDriftDetected")!.expr);
  });

  test("promtool accepts the Prometheus config; targets carry the labels the rules select on", () => {
    const rules = path.join(dir, "alert-rules.yml");
    writeFileSync(rules, localAlertRules());
    const config = path.join(dir, "prometheus.yml");
    const text = prometheusConfig(DEFAULT_PORTS, rules, true, true);
    writeFileSync(config, text);
    const check = tool("promtool", ["check", "config", config]);
    expect(check.status).toBe(0);
    const jobs = parse(text).scrape_configs as { job_name: string; static_configs: { targets: string[]; labels: Record<string, string> }[] }[];
    expect(jobs.map((j) => [j.job_name, j.static_configs[0].targets[0], j.static_configs[0].labels])).toEqual([
      ["serving", "127.0.0.1:9100", { mlops_component: "serving", mlops_model: MODEL_NAME }],
      ["drift", "127.0.0.1:9101", { mlops_component: "drift", mlops_model: MODEL_NAME }],
      ["monitor", "127.0.0.1:9102", { mlops_component: "monitor" }],
      // The platform API runs with PostgreSQL, as the monitor does: PlatformApiDown and the API's rules see it.
      ["api", "127.0.0.1:9103", { mlops_component: "api" }],
    ]);
    const withoutPostgres = parse(prometheusConfig(DEFAULT_PORTS, rules, false, false));
    expect(withoutPostgres.alerting).toBeUndefined();
    expect(withoutPostgres.scrape_configs.map((j: { job_name: string }) => j.job_name)).toEqual(["serving", "drift"]);
  });

  test("amtool accepts the Alertmanager config, which sends the platform's alerts to the monitor's receiver port with its token", () => {
    const config = path.join(dir, "alertmanager.yml");
    const tokenFile = path.join(dir, "alert-receiver-token");
    writeFileSync(tokenFile, "x".repeat(32));
    const text = localAlertmanagerConfig(DEFAULT_PORTS, tokenFile);
    writeFileSync(config, text);
    const check = tool("amtool", ["check-config", config]);
    expect(check.output).toContain("SUCCESS");
    expect(check.status).toBe(0);
    const receivers = parse(text).receivers as { name: string; webhook_configs?: { url: string; http_config?: unknown }[] }[];
    const monitor = receivers.find((r) => r.name === "mlops-monitor")!.webhook_configs![0];
    expect(monitor.url).toBe(`http://127.0.0.1:${DEFAULT_PORTS.monitorAlerts}/v1/alerts`);
    expect(monitor.http_config).toEqual({ authorization: { type: "Bearer", credentials_file: tokenFile } });
  });
});

describe("ports", () => {
  test("a default port in use is named, with the way out", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve, reject) => {
      blocker.once("error", reject);
      blocker.listen(DEFAULT_PORTS.drift, "127.0.0.1", () => resolve());
    }).catch(() => undefined); // Already taken by something else: the check below holds all the same.
    try {
      await expect(choosePorts(false)).rejects.toThrow(new RegExp(`${DEFAULT_PORTS.drift} \\(drift\\).*--free-ports`));
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  test("--free-ports gives distinct ports", async () => {
    const ports = Object.values(await choosePorts(true));
    expect(new Set(ports).size).toBe(ports.length);
  });
});

describe("the model registry", () => {
  test("the MLflow stand-in runs on MLflow's port, file-backed in the state directory, seeded with the demo model", () => {
    expect(DEFAULT_PORTS.mlflow).toBe(5000);
    expect(CHAMPION_URI).toBe(`models:/${MODEL_NAME}@champion`);
    const spec = modelRegistryProcess({ root: ROOT, dir: "/state/mlflow", port: 5123, seedModelDir: "/state/demo/fraud-detector" });
    expect(spec.readyUrl).toBe("http://127.0.0.1:5123/health");
    const flags = spec.args.slice(spec.args.findIndex((a) => a.endsWith("mlflow-registry-server.ts")) + 1);
    expect(flags).toEqual(["--dir", "/state/mlflow", "--port", "5123", "--host", "127.0.0.1", "--seed-demo", "/state/demo/fraud-detector", "--seed-name", MODEL_NAME]);
  });
});

describe("command lines", () => {
  const run = (script: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", script, ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env } });

  test("npm start and demo:traffic find the state directory the same way: --state-dir, else MLOPS_LOCAL_STATE_DIR, else .local", () => {
    expect(STATE_DIR_ENV).toBe("MLOPS_LOCAL_STATE_DIR");
    expect(resolveStateDir(undefined, {})).toBe(path.join(ROOT, ".local"));
    expect(resolveStateDir(undefined, { MLOPS_LOCAL_STATE_DIR: "tmp/a" })).toBe(path.join(ROOT, "tmp/a"));
    expect(resolveStateDir("/srv/b", { MLOPS_LOCAL_STATE_DIR: "tmp/a" })).toBe("/srv/b");
    expect(demoTrafficCommand(path.join(ROOT, ".local"))).toBe("npm run demo:traffic");
    expect(demoTrafficCommand(path.join(ROOT, "tmp/a"))).toBe("npm run demo:traffic -- --state-dir tmp/a");
    expect(demoTrafficCommand("/srv/my state")).toBe("npm run demo:traffic -- --state-dir '/srv/my state'");
    // The demo reads the variable (no platform runs in `dir`: it names that directory).
    const viaEnv = run("scripts/local/demo-traffic.ts", [], { [STATE_DIR_ENV]: dir });
    expect(viaEnv.status).toBe(2);
    expect(viaEnv.stderr).toContain(`the local platform is not running (no ${path.join(dir, "platform.json")})`);
  });

  test("npm start refuses an unknown option", () => {
    const r = run("scripts/local/start.ts", ["--fast"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('unknown option "--fast"; options: --free-ports, --state-dir <dir>');
  });

  test("demo:traffic says the platform is not running, and refuses bad numbers", () => {
    const none = run("scripts/local/demo-traffic.ts", ["--state-dir", dir]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/the local platform is not running \(no .*platform\.json\): start it with npm start/);
    const bad = run("scripts/local/demo-traffic.ts", ["--rate", "fast"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--rate: expected a positive number, got "fast"');
  });
});
