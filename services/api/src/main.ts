/** The platform API container's entry point (services/common run-service.ts). */
import { parseEnv, runService } from "@mlops/common";
import { startApi } from "./app";
import { envSchema } from "./env";

runService("api", () => parseEnv(envSchema), async (env, logger) => (await startApi(env, logger)).service);
