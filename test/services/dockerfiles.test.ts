import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { PORTS, UIDS } from "../../components/kubernetes/constants";

/**
 * The service images (services/Dockerfile for serving, drift and monitor; services/mlflow/Dockerfile),
 * checked statically (no Docker daemon here): pinned bases, multi-stage, non-root numeric users matching
 * the pods' runAsUser, production-only dependencies, every file they copy from the build context (the
 * repository root) exists, and the deploy workflow builds each service from the right file.
 */
const ROOT = path.resolve(__dirname, "../..");
const read = (p: string) => readFileSync(path.join(ROOT, p), "utf8");

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text: string): Instruction[] {
  const lines = text.split("\n").filter((l) => !/^\s*#/.test(l));
  return lines
    .join("\n")
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(" ") };
    });
}

function argDefaults(ins: Instruction[]): Record<string, string> {
  return Object.fromEntries(ins.filter((i) => i.op === "ARG" && i.args.includes("=")).map((i) => i.args.split("=", 2) as [string, string]));
}

const expand = (s: string, vars: Record<string, string>) => s.replace(/\$\{(\w+)\}/g, (_, v) => vars[v] ?? `\${${v}}`);

const finalStage = (ins: Instruction[]) => ins.slice(ins.map((i) => i.op).lastIndexOf("FROM"));

/** Sources of COPY instructions that read the build context (not --from another stage). */
function contextSources(ins: Instruction[], vars: Record<string, string>): string[] {
  return ins
    .filter((i) => i.op === "COPY" && !i.args.startsWith("--from"))
    .flatMap((i) => {
      const parts = i.args.split(/\s+/).filter((p) => !p.startsWith("--"));
      return parts.slice(0, -1).map((p) => expand(p, vars));
    });
}

/** The Node services' one Dockerfile, and the services the deploy workflow builds with it. */
const NODE_SERVICES = ["serving", "drift", "monitor", "api"];

describe("services/Dockerfile (one file for the Node services, ARG SERVICE)", () => {
  const ins = instructions(read("services/Dockerfile"));
  const globalArgs = argDefaults(ins.slice(0, ins.findIndex((i) => i.op === "FROM")));

  test("multi-stage from node 20 slim, pinned to a full version", () => {
    const froms = ins.filter((i) => i.op === "FROM").map((i) => expand(i.args.split(/\s+/)[0], globalArgs));
    expect(froms.length).toBeGreaterThanOrEqual(3);
    for (const f of froms) expect(f).toMatch(/^node:20\.\d+\.\d+-[a-z]+-slim$/);
  });

  test("SERVICE has no default: every stage declares it, and a build without it (or with another name) stops with the usage", () => {
    const stages = ins.map((i) => i.op).reduce<number[]>((acc, op, i) => (op === "FROM" ? [...acc, i] : acc), []);
    for (const [n, start] of stages.entries()) {
      const stage = ins.slice(start + 1, stages[n + 1] ?? ins.length);
      expect(stage.filter((i) => i.op === "ARG").map((i) => i.args)).toContain("SERVICE");
    }
    const guard = ins.find((i) => i.op === "RUN" && i.args.startsWith("case"))!.args;
    expect(guard).toContain(`in ${NODE_SERVICES.join("|")})`);
    for (const service of NODE_SERVICES) expect(guardAccepts(guard, service)).toBe(true);
    for (const other of ["", "mlflow", "common", "../x"]) expect(guardAccepts(guard, other)).toBe(false);
  });

  test("production dependencies of the workspace only, with onnxruntime's download skipped", () => {
    const runs = ins.filter((i) => i.op === "RUN").map((i) => i.args);
    expect(runs).toContainEqual(expect.stringMatching(/npm ci --omit=dev .*--workspace services\/\$\{SERVICE\}/));
    expect(ins.filter((i) => i.op === "ENV").map((i) => i.args)).toContainEqual("ONNXRUNTIME_NODE_INSTALL=skip");
    const final = finalStage(ins);
    expect(final.some((i) => i.op === "RUN")).toBe(false);
    expect(final.filter((i) => i.op === "COPY").every((i) => i.args.startsWith("--from="))).toBe(true);
  });

  describe.each(NODE_SERVICES)("built with SERVICE=%s", (service) => {
    const vars = { ...globalArgs, SERVICE: service };

    test("runs as the numeric non-root user the pods expect, the entry point of the package, on the platform's ports", () => {
      const final = finalStage(ins);
      const user = final.filter((i) => i.op === "USER").at(-1)!.args;
      expect(user).toBe(`${UIDS.node}:${UIDS.node}`);
      const pkg = JSON.parse(read(`services/${service}/package.json`));
      expect(final.find((i) => i.op === "CMD")!.args).toBe(`["node", "${pkg.main}"]`);
      expect(expand(final.filter((i) => i.op === "WORKDIR").at(-1)!.args, vars)).toBe(`/app/services/${service}`);
      expect(final.find((i) => i.op === "EXPOSE")!.args).toBe(`${PORTS.api} ${PORTS.metrics}`);
    });

    test("every file copied from the context exists; every workspace manifest is there for npm ci", () => {
      const sources = contextSources(ins, vars);
      for (const s of sources) expect([s, existsSync(path.join(ROOT, s))]).toEqual([s, true]);
      const workspaces: string[] = JSON.parse(read("package.json")).workspaces;
      for (const w of workspaces) expect(sources).toContain(`${w}/package.json`);
    });
  });

  test("the deploy workflow builds the Node services from this file with their SERVICE, MLflow from its own", () => {
    const images = parse(read(".github/workflows/deploy.yml")).jobs.images as { strategy: { matrix: { service: string[] } }; steps: { uses?: string; with?: Record<string, string> }[] };
    const build = images.steps.find((s) => s.uses?.startsWith("docker/build-push-action@"))!.with!;
    const [file, buildArgs] = [build.file, build["build-args"]];
    expect([...images.strategy.matrix.service].sort()).toEqual([...NODE_SERVICES, "mlflow"].sort());
    // The expressions as GitHub evaluates them for each matrix entry (`cond && a || b`: b when a is '').
    const evaluate = (expr: string, service: string): string => {
      const m = /^\$\{\{ matrix\.service (==|!=) '(\w+)' && (.+) \|\| (.+) \}\}$/.exec(expr);
      if (!m) return expr;
      const value = (v: string) => (/^'([^']*)'$/.exec(v)?.[1] ?? /^format\('([^']*)', matrix\.service\)$/.exec(v)?.[1].replace("{0}", service) ?? `?${v}`);
      const cond = m[1] === "==" ? service === m[2] : service !== m[2];
      return (cond && value(m[3])) || value(m[4]);
    };
    for (const service of NODE_SERVICES) {
      expect(evaluate(file, service)).toBe("services/Dockerfile");
      expect(evaluate(buildArgs, service)).toBe(`SERVICE=${service}`);
    }
    expect(evaluate(file, "mlflow")).toBe("services/mlflow/Dockerfile");
    expect(evaluate(buildArgs, "mlflow")).toBe("");
    for (const f of [...new Set([...NODE_SERVICES, "mlflow"].map((s) => evaluate(file, s)))]) expect(existsSync(path.join(ROOT, f))).toBe(true);
  });

  test("no service keeps a Dockerfile of its own but MLflow", () => {
    for (const service of [...NODE_SERVICES, "common"]) expect(existsSync(path.join(ROOT, "services", service, "Dockerfile"))).toBe(false);
  });
});

/** Runs the Dockerfile's guard (`case "${SERVICE}" in ...`) in sh with that SERVICE. */
function guardAccepts(guard: string, service: string): boolean {
  return spawnSync("sh", ["-c", guard], { env: { PATH: process.env.PATH, SERVICE: service }, encoding: "utf8" }).status === 0;
}

describe("services/mlflow/Dockerfile", () => {
  const ins = instructions(read("services/mlflow/Dockerfile"));
  const vars = argDefaults(ins);

  test("the official MLflow image at a pinned version, plus pinned drivers for PostgreSQL and the three clouds", () => {
    const from = expand(ins.find((i) => i.op === "FROM")!.args, vars);
    expect(from).toMatch(/^ghcr\.io\/mlflow\/mlflow:v\d+\.\d+\.\d+$/);
    const pip = ins.find((i) => i.op === "RUN" && i.args.includes("pip install"))!.args;
    const packages = pip.split("&&")[0].split(/\s+/).filter((p) => /==/.test(p));
    expect(packages.map((p) => p.split("==")[0]).sort()).toEqual(
      ["Flask-WTF", "azure-identity", "azure-storage-blob", "boto3", "google-cloud-storage", "prometheus-flask-exporter", "psycopg2-binary"].sort(),
    );
    for (const p of packages) expect(p).toMatch(/^[A-Za-z0-9_-]+==\d+(\.\d+)+$/);
  });

  test("runs as the numeric non-root user the pods expect", () => {
    expect(ins.filter((i) => i.op === "USER").at(-1)!.args).toBe(`${UIDS.mlflow}:${UIDS.mlflow}`);
    expect(ins.find((i) => i.op === "RUN")!.args).toContain(`useradd --uid ${UIDS.mlflow}`);
    expect(ins.find((i) => i.op === "EXPOSE")!.args).toBe(String(PORTS.mlflow));
  });
});

test("the build context leaves out node_modules and build output", () => {
  const ignored = read(".dockerignore").split("\n");
  expect(ignored).toEqual(expect.arrayContaining(["**/node_modules", "**/dist", ".git"]));
});
