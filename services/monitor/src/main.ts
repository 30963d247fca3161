/** Entry point of the monitor container: env -> service; SIGTERM drains and exits. */
import { createLogger, exitOnSignals, loadEnvOrExit } from "@mlops/common";
import { startMonitor } from "./app";
import { envSchema } from "./env";

async function main(): Promise<void> {
  const env = loadEnvOrExit(envSchema);
  const logger = createLogger("monitor", env.LOG_LEVEL);
  try {
    const app = await startMonitor(env, logger);
    exitOnSignals(app.service, logger);
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, "monitor failed to start");
    process.stderr.write(`monitor: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

void main();
