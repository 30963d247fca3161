/**
 * `npm start`: the platform on this machine until Ctrl-C.
 *
 *   npm start [-- --free-ports] [-- --state-dir <dir>]
 *
 * --free-ports    system-chosen ports instead of the documented ones (8080-8082, 9090, 9093, 5000, ...)
 * --state-dir     where data, logs and generated configs live (default: $MLOPS_LOCAL_STATE_DIR, else
 *                 .local; relative to the repository root). `npm run demo:traffic` takes the same.
 *
 * Exit 0 after Ctrl-C (or SIGTERM) stopped everything, once every child process has exited; 1 when the
 * start failed or a component died. npm runs this file with `exec` (package.json), so the signal npm
 * forwards reaches this process, and npm returns only when it has exited.
 */
import path from "node:path";
import { demoTrafficCommand, LocalPlatformError, PROJECT_ROOT, resolveStateDir, type PlatformState } from "./layout";
import { ADMIN_PASSWORD_ENV, type LocalAdmin } from "./admin-password";
import { startLocalPlatform, type LocalPlatform } from "./platform";

const ROOT = PROJECT_ROOT;

function parseArgs(argv: string[]): { freePorts: boolean; stateDir: string } {
  let freePorts = false;
  let stateDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--free-ports") freePorts = true;
    else if (argv[i] === "--state-dir" && argv[i + 1] && !argv[i + 1].startsWith("--")) stateDir = argv[++i];
    else throw new LocalPlatformError(`unknown option ${JSON.stringify(argv[i])}; options: --free-ports, --state-dir <dir>`);
  }
  return { freePorts, stateDir: resolveStateDir(stateDir) };
}

export function summary(state: PlatformState, admin?: LocalAdmin): string {
  const lines = ["", "The local platform is up:"];
  for (const c of state.components) {
    lines.push(`  ${c.name.padEnd(13)} ${c.status === "running" ? `running  ${c.url ?? ""}` : `skipped  ${c.reason}`}`);
  }
  lines.push(
    "",
    `  credentials:   ${state.credentialsFile}   (serving's API key, the monitor's tokens; readable by you only)`,
    `  the model:     curl -s -H "authorization: Bearer $(node -p 'require(${JSON.stringify(state.credentialsFile)}).servingApiKey')" ${state.urls.serving}/v2/models/${state.model}`,
    `                 (predict: POST .../infer, or /invocations, with the same header)`,
    ...(state.urls.api
      ? [
          `  platform API:  ${state.urls.api}   (log in: POST ${state.urls.api}/auth/login {"username": "admin", "password": ...})`,
          `  API docs:      ${state.urls.api}/docs   ${state.urls.api}/redoc   ${state.urls.api}/openapi.json`,
          ...(admin ? [adminLine(admin)] : []),
        ]
      : []),
    `  registry:      ${state.urls.mlflow}/api/2.0/mlflow/registered-models/get?name=${state.model}   (serving loads ${state.modelUri}; state in ${path.join(state.stateDir, "mlflow")})`,
    `  drift report:  ${state.urls.driftReport}`,
    `  metrics:       ${state.urls.servingMetrics}  ${state.urls.driftMetrics}${state.urls.monitorMetrics ? `  ${state.urls.monitorMetrics}` : ""}`,
    ...(state.urls.prometheus ? [`  alerts:        ${state.urls.prometheus}/alerts`] : []),
    ...(state.urls.monitor ? [`  actions:       ${state.urls.monitor}/v1/alerts/actions   (authorization: Bearer <readToken>)`] : []),
    `  logs:          ${path.join(state.stateDir, "logs")}`,
    "",
    `Next, in another terminal: ${demoTrafficCommand(state.stateDir)}      Ctrl-C here stops everything.`,
  );
  return lines.join("\n");
}

/** The API's admin: a generated password is shown once, when it is made; afterwards only where it is kept. */
export function adminLine(admin: LocalAdmin): string {
  switch (admin.source) {
    case "generated":
      return `  API admin:     "${admin.username}", password ${admin.password}   (generated, shown once; kept for npm run demo:traffic in ${admin.file}, readable by you only)`;
    case "file":
      return `  API admin:     "${admin.username}", the password generated at the first start (${admin.file})`;
    case "env":
      return `  API admin:     "${admin.username}", the password of ${ADMIN_PASSWORD_ENV} (used when the API's database had no user yet)`;
  }
}

async function main(): Promise<number> {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  let platform: LocalPlatform | undefined;
  let exitCode = 0;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => (resolveDone = r));
  let stopping = false;
  const shutdown = (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    log(why);
    resolveDone();
  };
  // Signals during the start abort it; the start's own clean-up then stops what was started.
  process.on("SIGINT", () => shutdown("\nstopping (Ctrl-C)...", 0));
  process.on("SIGTERM", () => shutdown("stopping (SIGTERM)...", 0));

  try {
    const args = parseArgs(process.argv.slice(2));
    const shown = path.relative(ROOT, args.stateDir);
    log(`starting the local platform (state in ${shown && !shown.startsWith("..") ? shown : args.stateDir})`);
    platform = await startLocalPlatform({
      root: ROOT,
      stateDir: args.stateDir,
      freePorts: args.freePorts,
      log,
      onCrash: (message) => shutdown(`${message}: stopping the rest`, 1),
      onRetrainRequest: (r) => log(`retrain-hook: retraining requested for ${r.model ?? "?"} by the alert ${r.alertname ?? "?"} (signature verified)`),
    });
    if (stopping) {
      await platform.stop();
      return exitCode;
    }
    log(summary(platform.state, platform.admin));
  } catch (err) {
    process.stderr.write(`npm start: ${(err as Error).message}\n`);
    return 1;
  }
  await done;
  await platform.stop();
  log("stopped.");
  return exitCode;
}

if (require.main === module) main().then((code) => process.exit(code));
