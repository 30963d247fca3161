/**
 * The GitHub workflows cannot run here (no GitHub, no cloud): these tests parse them and check that
 * the steps the platform relies on exist, in order, with least-privilege permissions and OIDC only.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "..", "..");
type Step = { name?: string; uses?: string; run?: string; with?: Record<string, any>; id?: string };
type Job = { needs?: string | string[]; if?: string; environment?: string; permissions?: Record<string, string>; steps: Step[]; strategy?: any; outputs?: Record<string, string> };
type Workflow = { on: Record<string, any>; permissions: Record<string, string>; env?: Record<string, string>; jobs: Record<string, Job> };

const load = (file: string): Workflow => parse(readFileSync(path.join(ROOT, ".github", "workflows", file), "utf8"));
const action = (step: Step) => String(step.uses ?? "").split("@")[0];
const stepsUsing = (job: Job, name: string) => job.steps.filter((s) => action(s) === name);
const indexOf = (job: Job, predicate: (s: Step) => boolean) => job.steps.findIndex(predicate);
const runs = (job: Job, pattern: RegExp) => indexOf(job, (s) => pattern.test(String(s.run ?? "")));

const pr = load("pull-request.yml");
const deploy = load("deploy.yml");
const ALL = { "pull-request.yml": pr, "deploy.yml": deploy };

describe.each(Object.entries(ALL))("%s", (_file, wf) => {
  test("grants nothing by default; every job declares its permissions, never write access to code", () => {
    expect(wf.permissions).toEqual({});
    for (const [name, job] of Object.entries(wf.jobs)) {
      expect({ name, permissions: job.permissions }).toEqual({ name, permissions: expect.any(Object) });
      expect(job.permissions!.contents).toBe("read");
      for (const [scope, level] of Object.entries(job.permissions!)) expect(["contents:read", "id-token:write", "pull-requests:write"]).toContain(`${scope}:${level}`);
    }
  });

  test("id-token: write only where a step exchanges it (OIDC), and no long-lived cloud or Pulumi key anywhere", () => {
    for (const job of Object.values(wf.jobs)) {
      const exchanges = stepsUsing(job, "aws-actions/configure-aws-credentials").length + stepsUsing(job, "pulumi/auth-actions").length;
      expect(job.permissions!["id-token"] === "write").toBe(exchanges > 0);
      for (const step of stepsUsing(job, "aws-actions/configure-aws-credentials")) {
        expect(step.with?.["role-to-assume"]).toMatch(/^\$\{\{ .*vars\./);
        expect(step.with).not.toHaveProperty("aws-access-key-id");
      }
    }
    const text = JSON.stringify(wf);
    expect(text).not.toMatch(/aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID|PULUMI_ACCESS_TOKEN/);
    expect(text.match(/secrets\.[A-Z_]+/g) ?? []).toEqual((text.match(/secrets\.GITHUB_TOKEN/g) ?? []));
  });

  test("every third-party action is pinned to an exact version", () => {
    for (const job of Object.values(wf.jobs)) {
      for (const step of job.steps.filter((s) => s.uses)) expect(step.uses).toMatch(/@(v\d+\.\d+\.\d+|[0-9a-f]{40})$/);
    }
  });

  test("installs with ONNXRUNTIME_NODE_INSTALL=skip", () => {
    expect(wf.env?.ONNXRUNTIME_NODE_INSTALL).toBe("skip");
  });
});

describe("pull-request.yml", () => {
  test("runs on pull requests to main", () => {
    expect(Object.keys(pr.on)).toEqual(["pull_request"]);
  });

  test("installs, type-checks, builds, tests, then runs the offline policy gate for every stack", () => {
    const job = pr.jobs.test;
    const order = [runs(job, /scripts\/setup\.sh/), runs(job, /npm run typecheck/), runs(job, /npm run build/), runs(job, /jest/), runs(job, /plan -- "\$stack" --policy/)];
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(job.steps[order[4]].run).toMatch(/for file in Pulumi\.\*\.yaml/);
  });

  test("previews each changed stack with the policy pack and its environment's config, commented on the PR", () => {
    const job = pr.jobs.preview;
    expect(job.needs).toEqual(expect.arrayContaining(["test", "changed-stacks"]));
    expect(job.strategy.matrix.include).toBe("${{ fromJSON(needs.changed-stacks.outputs.matrix) }}");
    expect(job.if).toContain("head.repo.full_name == github.repository");
    const [preview] = stepsUsing(job, "pulumi/actions").filter((s) => s.with?.command);
    expect(preview.with).toMatchObject({ command: "preview", "comment-on-pr": true, policyPacks: "policies", policyPackConfigs: "policies/config/${{ matrix.environment }}.json" });
    expect(preview.with!["stack-name"]).toMatch(/\$\{\{ matrix\.stack \}\}$/);
    expect(job.permissions).toEqual({ contents: "read", "id-token": "write", "pull-requests": "write" });
    const credentials = indexOf(job, (s) => action(s) === "aws-actions/configure-aws-credentials");
    expect(credentials).toBeGreaterThan(-1);
    expect(credentials).toBeLessThan(indexOf(job, (s) => action(s) === "pulumi/actions"));
    expect(pr.jobs["changed-stacks"].steps.some((s) => /git diff --name-only .*\| bash scripts\/ci\/changed-stacks\.sh/.test(s.run ?? ""))).toBe(true);
  });

  test("only the preview job can write to pull requests", () => {
    const writers = Object.entries(pr.jobs).filter(([, j]) => j.permissions?.["pull-requests"] === "write").map(([n]) => n);
    expect(writers).toEqual(["preview"]);
  });
});

describe("deploy.yml", () => {
  test("runs on pushes to main, one deployment at a time", () => {
    expect(deploy.on).toEqual({ push: { branches: ["main"] } });
  });

  test("builds and pushes every service image tagged with the commit SHA", () => {
    const job = deploy.jobs.images;
    expect(job.strategy.matrix.service).toEqual(["serving", "drift", "monitor", "mlflow"]);
    const [build] = stepsUsing(job, "docker/build-push-action");
    expect(build.with).toMatchObject({ push: true, context: ".", file: "services/${{ matrix.service }}/Dockerfile" });
    expect(build.with!.tags).toMatch(/\/mlops\/\$\{\{ matrix\.service \}\}:\$\{\{ github\.sha \}\}$/);
  });

  test("pulumi up on dev after the images, then prod only through the protected production environment", () => {
    expect(deploy.jobs["deploy-dev"].needs).toBe("images");
    expect(deploy.jobs["deploy-prod"].needs).toBe("deploy-dev");
    expect(deploy.jobs["deploy-prod"].environment).toBe("production");
    for (const [job, env] of [["deploy-dev", "dev"], ["deploy-prod", "prod"]] as const) {
      const ups = stepsUsing(deploy.jobs[job], "pulumi/actions").filter((s) => s.with?.command);
      expect(ups).toHaveLength(1);
      expect(ups[0].with).toMatchObject({ command: "up", policyPacks: "policies", policyPackConfigs: `policies/config/${env}.json` });
      expect(ups[0].with!["stack-name"]).toMatch(new RegExp(`/${env}$`));
      const pin = runs(deploy.jobs[job], /scripts\/ci\/pin-images\.sh/);
      expect(pin).toBeGreaterThan(-1);
      expect(pin).toBeLessThan(deploy.jobs[job].steps.indexOf(ups[0]));
    }
    expect(deploy.jobs["deploy-prod"].steps.find((s) => /pin-images/.test(s.run ?? ""))!.run).toMatch(/--digests/);
    const prodGate = runs(deploy.jobs["deploy-prod"], /plan -- prod --policy/);
    expect(prodGate).toBeGreaterThan(runs(deploy.jobs["deploy-prod"], /pin-images/));
  });

  test("every job that talks to a cluster runs where it can reach the API server, and checks it before Pulumi does", () => {
    const clusterJobs = [deploy.jobs["deploy-dev"], deploy.jobs["deploy-prod"], pr.jobs.preview] as (Job & { "runs-on": string })[];
    for (const job of clusterJobs) {
      expect(job["runs-on"]).toBe(`\${{ fromJSON(vars.DEPLOY_RUNNER_LABELS || '["ubuntu-24.04"]') }}`);
      const check = runs(job, /scripts\/ci\/check-cluster-reach\.sh/);
      const pulumi = job.steps.findIndex((s) => action(s) === "pulumi/actions" && s.with?.command);
      expect(check).toBeGreaterThan(-1);
      expect(check).toBeLessThan(pulumi);
      // The check needs the CLI (stack outputs) and the cloud credentials.
      expect(check).toBeGreaterThan(job.steps.findIndex((s) => action(s) === "aws-actions/configure-aws-credentials"));
      expect(check).toBeGreaterThan(job.steps.findIndex((s) => action(s) === "pulumi/actions" && !s.with?.command));
    }
    expect(deploy.jobs.images["runs-on" as keyof Job]).toBe("ubuntu-24.04");
  });

  test("no job but prod uses the production environment", () => {
    expect(Object.entries(deploy.jobs).filter(([, j]) => j.environment === "production").map(([n]) => n)).toEqual(["deploy-prod"]);
  });
});

describe("scripts/ci/changed-stacks.sh", () => {
  const matrix = (changed: string[]) => {
    const run = spawnSync("bash", ["scripts/ci/changed-stacks.sh"], { cwd: ROOT, input: changed.join("\n"), encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    return JSON.parse(run.stdout) as { stack: string; environment: string; region: string }[];
  };

  test("a change to the program or the pack previews every stack, each with its environment", () => {
    const all = matrix(["components/kubernetes/services.ts", "README.md"]);
    expect(all).toEqual(expect.arrayContaining([{ stack: "dev", environment: "dev", region: "us-west-2" }, { stack: "prod", environment: "prod", region: "us-west-2" }]));
    expect(matrix(["policies/config/prod.json"]).length).toBe(all.length);
  });

  test("a stack file previews that stack; services, docs and tests preview none", () => {
    expect(matrix(["Pulumi.prod.yaml"])).toEqual([{ stack: "prod", environment: "prod", region: "us-west-2" }]);
    expect(matrix(["services/serving/src/server.ts", "test/policies/gate.test.ts", "docs/x.md"])).toEqual([]);
    expect(matrix(["Pulumi.deleted-stack.yaml"])).toEqual([]);
  });
});

describe("scripts/ci/check-cluster-reach.sh", () => {
  const { mkdtempSync, writeFileSync, chmodSync } = require("node:fs") as typeof import("node:fs");
  const os = require("node:os") as typeof import("node:os");
  const http = require("node:http") as typeof import("node:http");

  /** Stand-ins for the pulumi and aws CLIs on PATH: the stack's cluster name and the EKS endpoint. */
  function fakeClis(clusterName: string | undefined, endpoint: string): string {
    const bin = mkdtempSync(path.join(os.tmpdir(), "reach-"));
    const script = (name: string, body: string) => {
      writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\n${body}\n`);
      chmodSync(path.join(bin, name), 0o755);
    };
    script("pulumi", clusterName ? `echo ${clusterName}` : `echo "error: no output named clusterName" >&2; exit 255`);
    script("aws", `echo ${endpoint}`);
    return bin;
  }
  const check = (bin: string) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = require("node:child_process").spawn("bash", ["scripts/ci/check-cluster-reach.sh", "org/dev"], { cwd: ROOT, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d));
      child.stderr.on("data", (d: Buffer) => (stderr += d));
      child.on("close", (status: number | null) => resolve({ status, stdout, stderr }));
    });

  test("an API server that answers (even 401) is reachable", async () => {
    const server = http.createServer((_req, res) => res.writeHead(401).end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const run = await check(fakeClis("mlops-dev", `http://127.0.0.1:${port}`));
      expect(run.status).toBe(0);
      expect(run.stdout).toContain("answered HTTP 401");
    } finally {
      server.close();
    }
  });

  test("an unreachable one fails before Pulumi would hang, saying which runner settings fix it", async () => {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
    const run = await check(fakeClis("mlops-dev", `http://127.0.0.1:${port}`));
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/cannot reach the Kubernetes API of mlops-dev[\s\S]*DEPLOY_RUNNER_LABELS[\s\S]*privateAccessCidrs[\s\S]*publicAccessCidrs/);
  });

  test("a stack without a cluster yet (first deploy) has nothing to check", async () => {
    const run = await check(fakeClis(undefined, "http://127.0.0.1:1"));
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("first deploy");
  });
});
