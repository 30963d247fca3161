/**
 * `npm run plan -- <stack> [--json]`, spawned as CI runs it. The bad-config case runs in a temporary
 * copy of the project, so no stray Pulumi.<name>.yaml ever appears in the shared tree (other suites
 * list the project's stacks).
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");

function npmPlan(...args: string[]) {
  return spawnSync("npm", ["run", "--silent", "plan", "--", ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000, env: { ...process.env, npm_config_loglevel: "error" } });
}

function nodePlan(cwd: string, ...args: string[]) {
  return spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/plan/cli.ts", ...args], { cwd, encoding: "utf8", timeout: 120_000 });
}

/** `  N  type` lines after "By type:", as a map. */
function countsOf(stdout: string): Record<string, number> {
  const section = stdout.split("\nBy type:\n")[1].split("\n\nOutputs:")[0];
  return Object.fromEntries(section.split("\n").map((line) => line.trim().split(/\s+/)).map(([n, type]) => [type, Number(n)]));
}

const FOUNDATION_OUTPUTS = ["clusterName", "kubeconfig", "databaseEndpoint", "artifactStoreUri", "region", "imageRegistry", "mlflowIdentity"];

describe.each(["dev", "prod"])("npm run plan -- %s", (stack) => {
  let run: ReturnType<typeof npmPlan>;
  beforeAll(() => {
    run = npmPlan(stack);
  });

  test("exits 0 and prints the tree with each resource indented under its component", () => {
    expect(run.status).toBe(0);
    const total = Number(/^Stack mlops-platform\/(\w+): (\d+) resources\n/.exec(run.stdout)?.[2]);
    expect(total).toBeGreaterThan(50);
    const lines = run.stdout.split("\n");
    const foundation = lines.indexOf(`mlops:aws:Foundation  mlops-${stack}`);
    const network = lines.indexOf(`  mlops:aws:Network  mlops-${stack}-network`);
    const vpc = lines.indexOf(`    aws:ec2/vpc:Vpc  mlops-${stack}-network-vpc`);
    expect(foundation).toBeGreaterThanOrEqual(0);
    expect(network).toBeGreaterThan(foundation);
    expect(vpc).toBeGreaterThan(network);
    for (const line of lines.slice(network + 1, vpc)) expect(line).toMatch(/^ {4}/);
    expect(lines).toContain(`    aws:eks/cluster:Cluster  mlops-${stack}-cluster-eks`);
    expect(lines).toContain(`    aws:rds/instance:Instance  mlops-${stack}-db-postgres`);
  });

  test("prints a count per type that adds up to the total and matches the tree", () => {
    const total = Number(/: (\d+) resources/.exec(run.stdout)![1]);
    const counts = countsOf(run.stdout);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(total);
    const tree = run.stdout.split("\n\nBy type:")[0];
    for (const [type, n] of Object.entries(counts)) expect([type, tree.split("\n").filter((l) => l.trim().startsWith(`${type}  `)).length]).toEqual([type, n]);
    expect(counts["aws:ec2/natGateway:NatGateway"]).toBe(stack === "prod" ? 3 : 1);
    expect(counts["aws:ec2/flowLog:FlowLog"]).toBe(stack === "prod" ? 1 : undefined);
    expect(counts["aws:eks/cluster:Cluster"]).toBe(1);
  });

  test("lists the stack outputs by name, never their values", () => {
    const outputs = /\nOutputs: (.*)\n/.exec(run.stdout)![1].split(", ");
    expect(outputs).toEqual(expect.arrayContaining(FOUNDATION_OUTPUTS));
    expect(run.stdout).not.toContain("get-token");
  });
});

test("--json is machine-readable: resources with type, name, urn and parent, counts, outputs", () => {
  const run = npmPlan("prod", "--json");
  expect(run.status).toBe(0);
  const body = JSON.parse(run.stdout) as { stack: string; resources: { type: string; name: string; urn: string; parent: string | null }[]; counts: Record<string, number>; outputs: string[] };
  expect(body.stack).toBe("prod");
  expect(body.counts["aws:ec2/natGateway:NatGateway"]).toBe(3);
  expect(body.resources.length).toBe(Object.values(body.counts).reduce((a, b) => a + b, 0));
  const urns = new Set(body.resources.map((r) => r.urn));
  for (const r of body.resources) if (r.parent !== null) expect(urns.has(r.parent)).toBe(true);
  const vpc = body.resources.find((r) => r.type === "aws:ec2/vpc:Vpc")!;
  expect(vpc.parent).toMatch(/mlops:aws:Network::mlops-prod-network$/);
  expect(body.outputs).toEqual(expect.arrayContaining(FOUNDATION_OUTPUTS));
});

test("--json reaches a slow reader whole: the CLI exits only once stdout has drained", () => {
  // A pipe holds 64 KiB; the reader waits, so the rest is still queued when the plan finishes.
  const run = spawnSync("bash", ["-c", "npm run --silent plan -- prod --json | (sleep 1; cat)"], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  expect(run.stdout.length).toBeGreaterThan(65_536);
  expect(JSON.parse(run.stdout).stack).toBe("prod");
});

test("`npm run plan -- dev --json`, as typed (no --silent), is only JSON on stdout: the project's .npmrc keeps npm's banner off", () => {
  // Without the variable npm may have set for this jest run: what a person's shell has.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.toLowerCase() !== "npm_config_loglevel"));
  const run = spawnSync("npm", ["run", "plan", "--", "dev", "--json"], { cwd: ROOT, encoding: "utf8", timeout: 120_000, env });
  expect(run.status).toBe(0);
  expect(JSON.parse(run.stdout).counts["aws:eks/cluster:Cluster"]).toBe(1);
});

describe("a stack with bad config, in a temporary copy of the project", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "mlops-plan-"));
    for (const entry of ["Pulumi.yaml", "Pulumi.dev.yaml", "package.json", "tsconfig.json", "infra", "components", "scripts"]) cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
    symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
    writeFileSync(
      path.join(dir, "Pulumi.qa.yaml"),
      [
        "config:",
        "  mlops:environment: qa",
        "  mlops:tags: {team: ml, cost-center: x}",
        "  mlops:network: {vpcCidr: 10.0.0.300/16}",
        "  mlops:cluster: {kubernetesVersion: '1.33'}",
        "  mlops:images: {registry: r.example.com, tag: t}",
        "",
      ].join("\n"),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("the copy plans its good stack (the copy is complete)", () => {
    const run = nodePlan(dir, "dev", "--json");
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout).counts["aws:eks/cluster:Cluster"]).toBe(1);
  });

  test("exits 1 with every config problem, each naming key, value and what is allowed, and prints no plan", () => {
    const run = nodePlan(dir, "qa");
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      [
        'plan for stack "qa" failed: invalid stack configuration:',
        '  mlops:environment: got "qa"; expected one of "dev", "prod"',
        '  mlops:network.vpcCidr: got "10.0.0.300/16"; expected an IPv4 CIDR block such as 10.0.0.0/16',
        "  mlops:cluster.adminPrincipalArns: missing (required); required (array)",
        "",
      ].join("\n"),
    );
  });

  test("--json fails the same way: no half-written JSON on stdout", () => {
    const run = nodePlan(dir, "qa", "--json");
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain('mlops:environment: got "qa"; expected one of "dev", "prod"');
  });
});

test("an unknown stack or wrong usage is explained", () => {
  const unknown = npmPlan("nope");
  expect(unknown.status).toBe(1);
  expect(unknown.stderr).toMatch(/no stack "nope": Pulumi\.nope\.yaml does not exist \(stacks of this project: .*dev.*prod/);
  const usage = npmPlan();
  expect(usage.status).toBe(2);
  expect(usage.stderr).toMatch(/usage: npm run plan -- <stack>/);
});
