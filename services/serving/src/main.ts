/** The serving container's entry point (services/common run-service.ts): stopping finishes in-flight requests and flushes the event queues before exit. */
import { runService } from "@mlops/common";
import { runServing } from "./app";
import { loadServingConfig } from "./config";

runService("serving", loadServingConfig, async (config, logger) => {
  const running = await runServing(config, logger);
  return { close: () => running.stop() };
});
