import { ConfigError, createLogger, exitOnSignals } from "@mlops/common";
import { runServing } from "./app";
import { loadServingConfig } from "./config";

/** The serving entry point: config from the environment (bad config: one message, exit 1), then run until SIGTERM. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadServingConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`serving: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger("serving", config.LOG_LEVEL);
  let running;
  try {
    running = await runServing(config, logger);
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, "serving cannot start");
    process.exit(1);
  }
  // Stopping finishes in-flight requests and flushes the event queues before exit.
  exitOnSignals({ close: () => running.stop() }, logger);
}

void main();
