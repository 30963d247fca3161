/**
 * The entry point every service container shares (`dist/main.js`):
 *
 *   runService("monitor", () => parseEnv(envSchema), (env, logger) => startMonitor(env, logger).then((app) => app.service));
 *
 * Configuration first: a bad value prints one `<name>: invalid configuration: ...` block naming each
 * variable (ConfigError) and exits 1, before anything listens. Then the logger at the configured level
 * and the service; a start that fails (database unreachable, model refused) is logged as fatal and
 * printed as one `<name>: <reason>` line, exit 1, so the pod's last words say why. SIGTERM and SIGINT
 * drain the running service and exit 0 (1 when draining failed).
 */
import { ConfigError } from "./config";
import { createLogger, type Logger } from "./logger";
import { exitOnSignals, type RunningService } from "./service";

export function runService<C extends { LOG_LEVEL: string }>(
  name: string,
  loadConfig: () => C,
  start: (config: C, logger: Logger) => Promise<Pick<RunningService, "close">>,
): void {
  let config: C;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exit(1);
  }
  const logger = createLogger(name, config.LOG_LEVEL);
  start(config, logger).then(
    (running) => exitOnSignals(running, logger),
    (err: unknown) => {
      const reason = err instanceof Error ? err.message : String(err);
      logger.fatal({ err: reason }, `${name} failed to start`);
      process.stderr.write(`${name}: ${reason}\n`);
      process.exit(1);
    },
  );
}
