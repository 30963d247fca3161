/** The monitor container's entry point (services/common run-service.ts). */
import { parseEnv, runService } from "@mlops/common";
import { startMonitor } from "./app";
import { envSchema } from "./env";

runService("monitor", () => parseEnv(envSchema), async (env, logger) => (await startMonitor(env, logger)).service);
