/**
 * Every command of every README works as written (issue 12): the shell commands of every README.md
 * (test/docs/support/readme-commands.ts finds them) are each either
 *   - RUN: cheap and runnable here, run from the repository root with a timeout, exit 0 expected; a command
 *     that writes files runs in a sandbox (a temporary directory of symlinks to the repository's top-level
 *     entries, without .local), so nothing lands in the working tree; or
 *   - SKIPPED: expensive or needing what this machine lacks, listed below with the reason.
 * A command in neither list fails the test: a new or changed command must be classified here. Every
 * command, run or not, is also checked statically: the files, npm scripts, workspaces, stack files and
 * mlops-drift options it names must exist (test/docs/support/readme-commands.ts, staticProblems).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { allCommands, ROOT, staticProblems, type ReadmeCommand } from "./support/readme-commands";

interface Run {
  kind: "run";
  match: string;
  /** What runs instead of the command as written, and why. */
  runAs?: { script: string; why: string };
  /** Run in a sandbox of its own (the command writes files relative to the repository root). */
  sandbox?: boolean;
  /** Files (relative to the sandbox) the command must have written. */
  creates?: string[];
  /** stdout must be JSON. */
  json?: boolean;
  /**
   * `npm run plan -- <args>`: run through scripts/plan/cli.ts in one process shared by every such command
   * (test/docs/support/run-plans.ts; the cloud SDKs load once), the npm script checked to run that file.
   */
  sharedPlanProcess?: boolean;
}

interface Skip {
  kind: "skip";
  match: string | RegExp;
  reason: string;
}

const PULUMI = "needs the Pulumi CLI, a state backend and the stack's cloud credentials";
const CLUSTER = "needs a deployed stack's cluster (kubectl)";
const DOCKER = "needs a Docker engine (none here) and builds images for minutes";
const KIND = "needs kind and Docker";
const JEST = "a jest run of its own: npm test runs those suites (a test does not run the test runner)";
const BUILD =
  "compiles into dist/ (10-20 s a workspace), which other suites and concurrent runs execute; npm test builds it first. Checked: each -w workspace has a build script";

const CLASSIFIED: (Run | Skip)[] = [
  // ---- run here ----
  // one through npm as written (the script, .npmrc's silence: only JSON on stdout), the others in one process
  { kind: "run", match: "npm run plan -- prod --json", json: true },
  { kind: "run", match: "npm run plan -- gcp-dev", sharedPlanProcess: true },
  { kind: "run", match: "npm run plan -- prod --policy", sharedPlanProcess: true },
  { kind: "run", match: "npm run plan -- dev --policy --json", json: true, sharedPlanProcess: true },
  {
    kind: "run",
    match: "node -r ts-node/register/transpile-only policies/tools/rule-table.ts --write",
    runAs: {
      script: "node -r ts-node/register/transpile-only policies/tools/rule-table.ts",
      why: "--write rewrites policies/README.md in place (test/policies/readme.test.ts checks that it would change nothing); without it the same table goes to stdout",
    },
  },
  { kind: "run", match: "node -r ts-node/register/transpile-only scripts/render-alert-rules.ts --stack prod --out rules.yml", sandbox: true, creates: ["rules.yml"] },
  {
    kind: "run",
    match:
      "node -r ts-node/register/transpile-only scripts/render-alert-rules.ts --models fraud-detector=0.85 --for 20s --min-labels 50 --out .local/rules.yml --alertmanager .local/alertmanager.yml --webhook-url http://127.0.0.1:8084/v1/alerts",
    sandbox: true,
    creates: [".local/rules.yml", ".local/alertmanager.yml"],
  },
  {
    kind: "run",
    match: "node -r ts-node/register/transpile-only packages/dev-fixtures/src/make-demo-model.ts --out .local/demo",
    sandbox: true,
    creates: [".local/demo/fraud-detector/MLmodel", ".local/demo/fraud-detector/model.onnx", ".local/demo/train.csv", ".local/demo/shifted.csv"],
  },
  {
    kind: "run",
    match: "node -r ts-node/register/transpile-only packages/dev-fixtures/src/make-demo-model.ts --out .local/demo [--rows 20000] [--seed 7]",
    runAs: {
      script: "node -r ts-node/register/transpile-only packages/dev-fixtures/src/make-demo-model.ts --out .local/demo --rows 20000 --seed 7",
      why: "the brackets mark optional options",
    },
    sandbox: true,
    creates: [".local/demo/fraud-detector/model.onnx", ".local/demo/train.csv"],
  },
  { kind: "run", match: "npx mlops-drift schema", json: true },

  // ---- not run here ----
  { kind: "skip", match: "bash scripts/setup.sh", reason: "installs Debian packages (apt-get, root) and runs npm ci" },
  { kind: "skip", match: "npm test", reason: "the whole suite, this test included (about 7 minutes)" },
  { kind: "skip", match: "npm start", reason: "runs the platform until Ctrl-C; test/local/platform.test.ts runs it" },
  { kind: "skip", match: "npm run demo:traffic", reason: "needs a running npm start; test/local/platform.test.ts runs it" },
  {
    kind: "skip",
    match: /^node -r ts-node\/register\/transpile-only packages\/dev-fixtures\/src\/mlflow-registry-server\.ts /,
    reason: "serves until SIGTERM; test/packages/mlflow-registry.test.ts runs the CLI as a process, npm start runs it",
  },
  { kind: "skip", match: /^pulumi /, reason: PULUMI },
  { kind: "skip", match: /^kubectl /, reason: CLUSTER },
  { kind: "skip", match: /^export MLFLOW_TRACKING_(URI|USERNAME|PASSWORD)=/, reason: `${CLUSTER}: MLflow's port-forward and its admin secret` },
  { kind: "skip", match: /^kind create cluster /, reason: KIND },
  { kind: "skip", match: /^(for svc in [\w ]+; do )?docker build /, reason: DOCKER },
  { kind: "skip", match: /^for svc in [\w ]+; do kind load docker-image /, reason: KIND },
  { kind: "skip", match: "TAG=0.1.0", reason: "sets the image tag the block's next commands use; nothing to run alone" },
  { kind: "skip", match: /^npx jest /, reason: JEST },
  { kind: "skip", match: /^npm run build -w services\/(common|drift|monitor)( -w services\/(drift|monitor))?$/, reason: BUILD },
  { kind: "skip", match: "npm run build -w services/common && npm run build -w services/serving", reason: BUILD },
  {
    kind: "skip",
    match: /^npx mlops-drift (profile|compare) /,
    reason: "needs the reader's CSV files (train.csv, last_week.csv); checked: the command and every option are in mlops-drift --help; test/services/drift/cli.test.ts runs them",
  },
  {
    kind: "skip",
    match: "MODEL_NAME=fraud-detector REFERENCE_URI=./reference_profile.json EVENTS_TOKEN=$EVENTS_TOKEN node services/drift/dist/main.js",
    reason: "a server (runs until stopped) on a reference profile of the reader's; test/services/drift/process.test.ts runs the built service",
  },
  {
    kind: "skip",
    match: "/usr/bin/python3 services/drift/scripts/make-fixtures.py",
    reason: "rewrites the committed test/services/drift/fixtures/scipy.json and needs python3-scipy, which the set-up command does not install",
  },
  { kind: "skip", match: /^npm run (bench|loadcheck) -w services\/(drift|serving|monitor)$/, reason: "a benchmark (minutes, all cores)" },
  {
    kind: "skip",
    match: /^createdb -h 127\.0\.0\.1 -p 5433 -U postgres \w+$/,
    reason: "needs the PostgreSQL of a running npm start (test/local/platform.test.ts starts it)",
  },
  {
    kind: "skip",
    match: /^DATABASE_URL=\S+ (\w+=\S+ )*npm start -w services\/monitor$/,
    reason: "a server (runs until stopped) on PostgreSQL; test/services/monitor/process.test.ts runs the built monitor",
  },
  { kind: "skip", match: /^MODEL_URI=\S+ (\w+=\S+ )*node services\/serving\/dist\/main\.js$/, reason: "a server (runs until stopped); serving's process tests run it" },
  { kind: "skip", match: /^curl -s localhost:8080\//, reason: "needs the serving process above, running" },
];

const matches = (entry: Run | Skip, key: string) => (typeof entry.match === "string" ? entry.match === key : entry.match.test(key));
const classify = (c: ReadmeCommand) => CLASSIFIED.filter((e) => matches(e, c.key));
const where = (c: ReadmeCommand) => `${c.readme}:${c.line}`;

const commands = allCommands();
/** One run per distinct script (the same command in two READMEs runs once). */
const runs = new Map<string, { entry: Run; commands: ReadmeCommand[] }>();
for (const c of commands) {
  const [entry] = classify(c);
  if (entry?.kind !== "run") continue;
  const script = entry.runAs?.script ?? c.script;
  if (!runs.has(script)) runs.set(script, { entry, commands: [] });
  runs.get(script)!.commands.push(c);
}

interface Outcome {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  sandbox?: string;
}

const TIMEOUT_MS = 90_000;
const sandboxes: string[] = [];

/** A temporary directory whose entries are symlinks to the repository's top-level entries, without .local and .git. */
function makeSandbox(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "readme-commands-"));
  sandboxes.push(dir);
  for (const name of readdirSync(ROOT)) if (name !== ".local" && name !== ".git") symlinkSync(path.join(ROOT, name), path.join(dir, name));
  return dir;
}

function runScript(script: string, cwd: string): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    // npm_config_offline: npx and npm never ask a registry, whatever the command says.
    const child = spawn("bash", ["-c", script], { cwd, env: { ...process.env, npm_config_offline: "true" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Runs every command at most CONCURRENCY at a time (the plans load the cloud SDKs: CPU-bound). */
const CONCURRENCY = 3;
const outcomes = new Map<string, Promise<Outcome>>();
let driftHelp = "";

const PLAN_SCRIPT = "node -r ts-node/register/transpile-only scripts/plan/cli.ts";
const planArgs = (script: string) => script.replace(/^npm run plan -- /, "").split(/\s+/);

beforeAll(async () => {
  const help = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "services/drift/src/cli.ts", "--help"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  driftHelp = help.stdout;
  const results = new Map<string, (o: Outcome) => void>();
  for (const script of runs.keys()) outcomes.set(script, new Promise((r) => results.set(script, r)));
  const shared = [...runs.entries()].filter(([, r]) => r.entry.sharedPlanProcess).map(([script]) => script);
  const jobs: (() => Promise<void>)[] = [...runs.entries()]
    .filter(([, r]) => !r.entry.sharedPlanProcess)
    .map(([script, { entry }]) => async () => {
      const cwd = entry.sandbox ? makeSandbox() : ROOT;
      const outcome = await runScript(script, cwd);
      results.get(script)!({ ...outcome, sandbox: entry.sandbox ? cwd : undefined });
    });
  if (shared.length) {
    jobs.unshift(async () => {
      const lists = JSON.stringify(shared.map(planArgs));
      const o = await runScript(`node -r ts-node/register/transpile-only test/docs/support/run-plans.ts '${lists}'`, ROOT);
      let each: { status: number; stdout: string; stderr: string }[] = [];
      try {
        each = JSON.parse(o.stdout);
      } catch {
        each = shared.map(() => ({ status: o.status ?? -1, stdout: o.stdout.slice(-2000), stderr: o.stderr.slice(-2000) }));
      }
      shared.forEach((script, i) => results.get(script)!({ ...o, ...each[i] }));
    });
  }
  const slots: Promise<void>[] = [];
  const worker = async () => {
    for (let job = jobs.shift(); job; job = jobs.shift()) await job();
  };
  for (let i = 0; i < CONCURRENCY; i++) slots.push(worker());
  await Promise.all(slots);
}, 110_000);

afterAll(() => {
  for (const dir of sandboxes) rmSync(dir, { recursive: true, force: true });
});

test("the READMEs have shell commands, and the parser finds the ones it must", () => {
  expect(commands.length).toBeGreaterThan(40);
  const keys = commands.map((c) => c.key);
  // a loop is one command; a `\` continuation is joined; output lines after a command are not commands
  expect(keys).toContain("for svc in serving drift monitor api; do docker build -f services/Dockerfile --build-arg SERVICE=$svc -t localhost/mlops/$svc:$TAG .; done");
  expect(keys.filter((k) => k.startsWith("node -r ts-node/register/transpile-only scripts/render-alert-rules.ts --models "))).toHaveLength(1);
  expect(keys.filter((k) => /^[{["]/.test(k))).toEqual([]);
});

test("every README command is classified exactly once: run here, or not run for a stated reason", () => {
  const unclassified = commands.filter((c) => classify(c).length === 0).map((c) => `${where(c)}: ${c.key}`);
  const ambiguous = commands.filter((c) => classify(c).length > 1).map((c) => `${where(c)}: ${c.key}`);
  expect({ unclassified, ambiguous }).toEqual({ unclassified: [], ambiguous: [] });
});

test("every classification still matches a README command (no stale entries)", () => {
  const stale = CLASSIFIED.filter((e) => !commands.some((c) => matches(e, c.key))).map((e) => String(e.match));
  expect(stale).toEqual([]);
});

test("`npm run plan` is scripts/plan/cli.ts, the file the shared plan process runs", () => {
  expect(require(path.join(ROOT, "package.json")).scripts.plan).toBe(PLAN_SCRIPT);
});

test("what each command names exists: files, npm scripts in the right package.json, workspaces, stacks, mlops-drift options", () => {
  expect(driftHelp).toContain("mlops-drift profile");
  const problems = commands.flatMap((c) => staticProblems(c.key, driftHelp).map((p) => `${where(c)}: ${p}`));
  expect(problems).toEqual([]);
});

describe.each([...runs.entries()].map(([script, { entry, commands: cs }]) => ({ name: `${cs.map(where).join(", ")}: ${cs[0].key}`, script, entry })))(
  "$name",
  ({ script, entry }) => {
    test(`exits 0${entry.sandbox ? " (in a sandbox)" : ""}${entry.sharedPlanProcess ? " (scripts/plan/cli.ts in the shared plan process)" : ""}${entry.runAs ? `, run as \`${entry.runAs.script}\` (${entry.runAs.why})` : ""}`, async () => {
      const o = await outcomes.get(script)!;
      const tail = (s: string) => s.split("\n").slice(-15).join("\n");
      expect({ status: o.status, signal: o.signal, stderr: o.status === 0 ? "" : tail(o.stderr), stdout: o.status === 0 ? "" : tail(o.stdout) }).toEqual({
        status: 0,
        signal: null,
        stderr: "",
        stdout: "",
      });
      if (entry.json) expect(() => JSON.parse(o.stdout)).not.toThrow();
      for (const file of entry.creates ?? []) expect([file, existsSync(path.join(o.sandbox!, file))]).toEqual([file, true]);
    });
  },
);
