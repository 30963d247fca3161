/** The drift service container's entry point (services/common run-service.ts). */
import { parseEnv, runService } from "@mlops/common";
import { startDriftService } from "./service/app";
import { envSchema } from "./service/env";

runService("drift", () => parseEnv(envSchema), async (env, logger) => (await startDriftService(env, logger)).service);
