/** Entry point of the platform API's container: env -> service; SIGTERM drains and exits. */
import { createLogger, exitOnSignals, loadEnvOrExit } from "@mlops/common";
import { startApi } from "./app";
import { envSchema } from "./env";

async function main(): Promise<void> {
  const env = loadEnvOrExit(envSchema);
  const logger = createLogger("api", env.LOG_LEVEL);
  try {
    const app = await startApi(env, logger);
    exitOnSignals(app.service, logger);
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, "the platform API failed to start");
    process.stderr.write(`api: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

void main();
