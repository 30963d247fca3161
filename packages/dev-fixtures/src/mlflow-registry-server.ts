/**
 * The file-backed MLflow stand-in as a process, for `npm start` (scripts/local/registry.ts) or by hand:
 *
 *   node -r ts-node/register/transpile-only packages/dev-fixtures/src/mlflow-registry-server.ts \
 *     --dir <state dir> --port <port> [--host 127.0.0.1] [--seed-demo <MLflow model dir> [--seed-name fraud-detector]]
 *
 * Seeds first (when the registry has no model of that name), then listens and prints one line,
 * `mlflow-registry ready at http://...`; one JSON line per request after it. SIGTERM or SIGINT: exit 0.
 * Exit 2 for a bad command line, 1 when it cannot start.
 */
import { MlflowRegistry } from "./mlflow-registry";

export interface ServerArgs {
  dir: string;
  port: number;
  host: string;
  seedDemo?: string;
  seedName: string;
}

const USAGE = "usage: mlflow-registry-server.ts --dir <state dir> --port <port> [--host 127.0.0.1] [--seed-demo <MLflow model dir> [--seed-name fraud-detector]]";

export class UsageError extends Error {}

export function parseServerArgs(argv: string[]): ServerArgs {
  const values: Record<string, string> = {};
  const known = ["--dir", "--port", "--host", "--seed-demo", "--seed-name"];
  for (let i = 0; i < argv.length; i += 2) {
    if (!known.includes(argv[i])) throw new UsageError(`unknown option ${JSON.stringify(argv[i])}; ${USAGE}`);
    const value = argv[i + 1];
    if (value === undefined || value.startsWith("--")) throw new UsageError(`${argv[i]} needs a value; ${USAGE}`);
    values[argv[i]] = value;
  }
  if (!values["--dir"]) throw new UsageError(`--dir is required; ${USAGE}`);
  const port = Number(values["--port"]);
  if (values["--port"] === undefined || !Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: expected a port number (0-65535; 0 picks a free one), got ${JSON.stringify(values["--port"] ?? null)}`);
  if (values["--seed-name"] && !values["--seed-demo"]) throw new UsageError(`--seed-name needs --seed-demo <MLflow model dir>; ${USAGE}`);
  return { dir: values["--dir"], port, host: values["--host"] ?? "127.0.0.1", seedDemo: values["--seed-demo"], seedName: values["--seed-name"] ?? "fraud-detector" };
}

async function main(): Promise<number> {
  let args: ServerArgs;
  try {
    args = parseServerArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const log = (entry: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
  const registry = new MlflowRegistry({ dir: args.dir, onResponse: (r) => log({ msg: "request", ...r }) });
  let seeded = "";
  if (args.seedDemo) {
    const seed = await registry.seedDemo({ name: args.seedName, modelDir: args.seedDemo });
    seeded = seed.created ? `; registered ${args.seedName} version ${seed.version} @champion from ${args.seedDemo}` : `; ${args.seedName} already registered`;
  }
  const url = await registry.start(args.port, args.host);
  process.stdout.write(`mlflow-registry ready at ${url} (state in ${args.dir}${seeded})\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  await registry.stop();
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`mlflow-registry: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
