import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { PORTS, UIDS } from "../../../components/kubernetes/constants";

/**
 * The service images, checked statically (no Docker daemon here): pinned bases, multi-stage, non-root
 * numeric users matching the pods' runAsUser, production-only dependencies, and every file they copy
 * from the build context (the repository root) exists.
 */
const ROOT = path.resolve(__dirname, "../../..");
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

describe.each(["serving", "drift", "monitor"])("services/%s/Dockerfile", (service) => {
  const ins = instructions(read(`services/${service}/Dockerfile`));
  const globalArgs = argDefaults(ins.slice(0, ins.findIndex((i) => i.op === "FROM")));
  const vars = { ...globalArgs, SERVICE: service };

  test("multi-stage from node 20 slim, pinned to a full version", () => {
    const froms = ins.filter((i) => i.op === "FROM").map((i) => expand(i.args.split(/\s+/)[0], vars));
    expect(froms.length).toBeGreaterThanOrEqual(3);
    for (const f of froms) expect(f).toMatch(/^node:20\.\d+\.\d+-[a-z]+-slim$/);
    expect(argDefaults(ins).SERVICE).toBe(service);
  });

  test("production dependencies of the workspace only, with onnxruntime's download skipped", () => {
    const runs = ins.filter((i) => i.op === "RUN").map((i) => i.args);
    expect(runs).toContainEqual(expect.stringMatching(/npm ci --omit=dev .*--workspace services\/\$\{SERVICE\}/));
    expect(ins.filter((i) => i.op === "ENV").map((i) => i.args)).toContainEqual("ONNXRUNTIME_NODE_INSTALL=skip");
    const final = finalStage(ins);
    expect(final.some((i) => i.op === "RUN")).toBe(false);
    expect(final.filter((i) => i.op === "COPY").every((i) => i.args.startsWith("--from="))).toBe(true);
  });

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
