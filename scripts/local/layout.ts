/**
 * The local platform's layout: its ports, its directory, the timings that replace the cluster's minutes
 * by seconds, and the state file through which `npm run demo:traffic` (and the end-to-end test) find
 * the running platform.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { freePort } from "@mlops/dev-fixtures/postgres";

export const MODEL_NAME = "fraud-detector";
/** ModelQualityLow's threshold for the demo model: the stack config's default (PRODUCT.md). */
export const ACCURACY_THRESHOLD = 0.85;

/** Default ports: PRODUCT.md's 8080/9090 where they do not collide on one machine. */
export const DEFAULT_PORTS = {
  serving: 8080,
  drift: 8081,
  monitor: 8082,
  /** The platform API (PRODUCT.md: 8083 on one machine). */
  api: 8083,
  /** The monitor's Alertmanager receiver, on a listener of its own (ALERT_PORT). */
  monitorAlerts: 8084,
  retrainHook: 8089,
  servingMetrics: 9100,
  driftMetrics: 9101,
  monitorMetrics: 9102,
  apiMetrics: 9103,
  prometheus: 9090,
  alertmanager: 9093,
  postgres: 5433,
  /** The MLflow stand-in (the model registry), on MLflow's own port. */
  mlflow: 5000,
};
export type Ports = typeof DEFAULT_PORTS;
export type PortName = keyof Ports;

/**
 * The cluster's durations shortened so a demo shows drift, an alert and its action within a minute or
 * two. The alert rules themselves are the deployed ones; only their `for:` and windows change.
 */
export const LOCAL_TIMINGS = {
  scrapeInterval: "2s",
  evaluationInterval: "2s",
  alertFor: "10s",
  rateWindow: "30s",
  /** The monitor's first (default) quality window, watched by ModelQualityLow. */
  qualityWindow: "1m",
  qualityMinLabels: 200,
  qualityRefreshS: 2,
  driftEvaluationS: 3,
  driftWindowRows: 2000,
  driftWindowS: 300,
  eventFlushMs: 200,
  alertmanagerGroupWait: "5s",
  /** How often serving and drift look up the champion alias in the registry (the cluster: 30 s, 60 s). */
  registryPollS: 3,
};

/** What alerts make the monitor act locally: a retraining request to the launcher's local hook. */
export const LOCAL_ALERT_ACTIONS = [
  { alert: "DataDriftDetected", model: MODEL_NAME, action: "retrain" },
  { alert: "ModelQualityLow", model: MODEL_NAME, action: "retrain" },
] as const;

export class LocalPlatformError extends Error {}

/** The defaults, after checking each is free; or free ports chosen by the system (`--free-ports`). */
export async function choosePorts(pickFree: boolean): Promise<Ports> {
  if (pickFree) {
    const chosen = new Set<number>();
    const ports = { ...DEFAULT_PORTS };
    for (const name of Object.keys(ports) as PortName[]) {
      let port = await freePort();
      while (chosen.has(port)) port = await freePort();
      chosen.add(port);
      ports[name] = port;
    }
    return ports;
  }
  const busy: string[] = [];
  for (const [name, port] of Object.entries(DEFAULT_PORTS)) if (!(await isFree(port))) busy.push(`${port} (${name})`);
  if (busy.length) {
    throw new LocalPlatformError(`ports in use on 127.0.0.1: ${busy.join(", ")}. Stop what uses them, or start with free ports: npm start -- --free-ports`);
  }
  return { ...DEFAULT_PORTS };
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

export type ComponentName = "mlflow" | "postgres" | "serving" | "drift" | "monitor" | "api" | "retrain-hook" | "prometheus" | "alertmanager";

export interface ComponentState {
  name: ComponentName;
  status: "running" | "skipped";
  /** Why it was skipped, and how to get it. */
  reason?: string;
  url?: string;
  pid?: number;
  /** The process's command line, so a later start can tell a leftover of ours from a reused pid. */
  cmdline?: string;
}

export interface PlatformState {
  launcherPid: number;
  startedAt: string;
  stateDir: string;
  model: string;
  ports: Ports;
  urls: {
    /** The model registry (MLFLOW_TRACKING_URI of serving, drift and the monitor). */
    mlflow: string;
    serving: string;
    servingMetrics: string;
    drift: string;
    driftMetrics: string;
    driftReport: string;
    monitor?: string;
    monitorMetrics?: string;
    /** The platform API's base URL (`.../api/v1`), when PostgreSQL runs. */
    api?: string;
    apiMetrics?: string;
    prometheus?: string;
    alertmanager?: string;
  };
  /** The demo data the traffic generator replays; the model directory the registry's version 1 came from. */
  demo: { trainCsv: string; modelDir: string };
  /** What serving and drift load: the registry's champion. */
  modelUri: string;
  /** The callers' credentials (scripts/local/credentials.ts), readable by the user only. */
  credentialsFile: string;
  components: ComponentState[];
}

export const DEFAULT_STATE_DIR = ".local";
/** The state directory of `npm start` and `npm run demo:traffic` alike when --state-dir is not given. */
export const STATE_DIR_ENV = "MLOPS_LOCAL_STATE_DIR";
/** The repository root: npm runs every script there, so relative state directories are taken from it. */
export const PROJECT_ROOT = path.resolve(__dirname, "../..");

/** `--state-dir <dir>`, else `$MLOPS_LOCAL_STATE_DIR`, else `.local`; relative to the repository root. */
export function resolveStateDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(PROJECT_ROOT, flag ?? (env[STATE_DIR_ENV] || DEFAULT_STATE_DIR));
}

/** The command that runs the demo traffic against the platform in `stateDir`. */
export function demoTrafficCommand(stateDir: string): string {
  if (path.resolve(stateDir) === path.resolve(PROJECT_ROOT, DEFAULT_STATE_DIR)) return "npm run demo:traffic";
  const shown = path.relative(PROJECT_ROOT, stateDir);
  const arg = shown && !shown.startsWith("..") && !path.isAbsolute(shown) ? shown : stateDir;
  return `npm run demo:traffic -- --state-dir ${/^[\w./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`}`;
}

export function statePath(stateDir: string): string {
  return path.join(stateDir, "platform.json");
}

/**
 * Written to a temporary file and renamed, because readers (`npm run demo:traffic`, a test, a second
 * `npm start`) poll for the file and must never see it half-written.
 */
export function writeState(stateDir: string, state: PlatformState): void {
  const file = statePath(stateDir);
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(partial, file);
}

/** The running platform's state; a clear error when none runs. */
export function readState(stateDir: string): PlatformState {
  const file = statePath(stateDir);
  if (!existsSync(file)) throw new LocalPlatformError(`the local platform is not running (no ${file}): start it with npm start, in another terminal`);
  const state = JSON.parse(readFileSync(file, "utf8")) as PlatformState;
  if (!isAlive(state.launcherPid)) throw new LocalPlatformError(`the local platform in ${stateDir} is not running any more (its launcher, pid ${state.launcherPid}, is gone): start it with npm start`);
  return state;
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
