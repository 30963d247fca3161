/** Entry point of the drift service container: env -> service; SIGTERM drains and exits. */
import { createLogger, exitOnSignals, loadEnvOrExit } from "@mlops/common";
import { startDriftService } from "./service/app";
import { envSchema } from "./service/env";

async function main(): Promise<void> {
  const env = loadEnvOrExit(envSchema);
  const logger = createLogger("drift", env.LOG_LEVEL);
  try {
    const app = await startDriftService(env, logger);
    exitOnSignals(app.service, logger);
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, "drift service failed to start");
    process.stderr.write(`drift: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

void main();
