/**
 * Runs `scripts/plan/cli.ts` once per argument list given as JSON on argv[2], in this one process: the
 * cloud SDKs load once instead of once per command (~5 s of CPU each). Each run gets its own
 * process.argv, its stdout and stderr are captured, and its process.exit(code) ends that run only.
 * Prints [{args, status, stdout, stderr}] as JSON.
 *
 *   node -r ts-node/register/transpile-only test/docs/support/run-plans.ts '[["prod","--policy"],["gcp-dev"]]'
 */
import path from "node:path";

const CLI = path.resolve(__dirname, "..", "..", "..", "scripts", "plan", "cli.ts");

interface Result {
  args: string[];
  status: number;
  stdout: string;
  stderr: string;
}

async function runOnce(args: string[]): Promise<Result> {
  const out: string[] = [];
  const err: string[] = [];
  const realOut = process.stdout.write.bind(process.stdout);
  const realErr = process.stderr.write.bind(process.stderr);
  const realExit = process.exit.bind(process);
  const realArgv = process.argv;
  const capture = (sink: string[]) =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      sink.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      const cb = rest.find((r) => typeof r === "function") as (() => void) | undefined;
      if (cb) setImmediate(cb);
      return true;
    }) as typeof process.stdout.write;
  try {
    const status = await new Promise<number>((resolve) => {
      process.argv = [process.argv[0], CLI, ...args];
      process.stdout.write = capture(out);
      process.stderr.write = capture(err);
      process.exit = ((code?: number) => resolve(code ?? 0)) as typeof process.exit;
      delete require.cache[require.resolve(CLI)];
      require(CLI);
    });
    return { args, status, stdout: out.join(""), stderr: err.join("") };
  } finally {
    process.stdout.write = realOut;
    process.stderr.write = realErr;
    process.exit = realExit;
    process.argv = realArgv;
  }
}

(async () => {
  const lists = JSON.parse(process.argv[2]) as string[][];
  const results: Result[] = [];
  for (const args of lists) results.push(await runOnce(args));
  process.stdout.write(`${JSON.stringify(results)}\n`, () => process.exit(0));
})();
