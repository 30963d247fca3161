/**
 * The local platform's model registry: the file-backed MLflow stand-in of packages/dev-fixtures, seeded
 * with the demo model (version 1, alias `champion`, its run's metrics), so serving and drift resolve
 * `models:/fraud-detector@champion` and the monitor moves aliases exactly as against the cluster's MLflow.
 * Its state lives in `<stateDir>/mlflow` and outlives a restart: an alias moved stays moved.
 */
import path from "node:path";
import { MODEL_NAME } from "./layout";
import type { ProcessSpec } from "./processes";

export const REGISTRY_ALIAS = "champion";
/** The registry URI serving and drift are given, as the cluster's stack passes it. */
export const CHAMPION_URI = `models:/${MODEL_NAME}@${REGISTRY_ALIAS}`;

export interface ModelRegistryOptions {
  root: string;
  /** `<stateDir>/mlflow`. */
  dir: string;
  port: number;
  /** The MLflow model directory registered as version 1 when the registry has no demo model yet. */
  seedModelDir: string;
}

/** Starts a supervised component (platform.ts's runManaged). */
export type StartComponent = (name: "mlflow", spec: Omit<ProcessSpec, "name">, where: string) => Promise<void>;

/** The stand-in's command line: its CLI under ts-node, as `npm start` itself runs. */
export function modelRegistryProcess(opts: ModelRegistryOptions): Omit<ProcessSpec, "name"> {
  const url = `http://127.0.0.1:${opts.port}`;
  return {
    command: process.execPath,
    args: [
      "-r",
      require.resolve("ts-node/register/transpile-only"),
      path.join(opts.root, "packages/dev-fixtures/src/mlflow-registry-server.ts"),
      "--dir",
      opts.dir,
      "--port",
      String(opts.port),
      "--host",
      "127.0.0.1",
      "--seed-demo",
      opts.seedModelDir,
      "--seed-name",
      MODEL_NAME,
    ],
    // MLflow's own readiness answer; the stand-in listens only once the seed is registered.
    readyUrl: `${url}/health`,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...(process.env.TZ ? { TZ: process.env.TZ } : {}) },
  };
}

/** Starts the registry and returns its URL (MLFLOW_TRACKING_URI for the services). */
export async function startModelRegistry(start: StartComponent, opts: ModelRegistryOptions): Promise<string> {
  const url = `http://127.0.0.1:${opts.port}`;
  await start("mlflow", modelRegistryProcess(opts), url);
  return url;
}
