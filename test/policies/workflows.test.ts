/**
 * The GitHub workflows cannot run here (no GitHub, no cloud): these tests parse them and check that
 * the steps the platform relies on exist, in order, with least-privilege permissions and OIDC only, and
 * run the CI scripts against fake `pulumi`/`docker`/cloud CLIs on PATH (and a local HTTP server).
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "..", "..");
type Step = { name?: string; uses?: string; run?: string; with?: Record<string, any>; env?: Record<string, string>; id?: string; if?: string };
type Job = { needs?: string | string[]; if?: string; environment?: string; permissions?: Record<string, string>; steps: Step[]; strategy?: any; outputs?: Record<string, string>; "runs-on"?: string };
type Workflow = { on: Record<string, any>; permissions: Record<string, string>; env?: Record<string, string>; jobs: Record<string, Job> };
type Entry = { stack: string; environment: string; cloud: string; region: string };

const load = (file: string): Workflow => parse(readFileSync(path.join(ROOT, ".github", "workflows", file), "utf8"));
const action = (step: Step) => String(step.uses ?? "").split("@")[0];
const stepsUsing = (job: Job, name: string) => job.steps.filter((s) => action(s) === name);
const indexOf = (job: Job, predicate: (s: Step) => boolean) => job.steps.findIndex(predicate);
const runs = (job: Job, pattern: RegExp) => indexOf(job, (s) => pattern.test(String(s.run ?? "")));
const usesIndex = (job: Job, name: string) => indexOf(job, (s) => action(s) === name);
const pulumiCommand = (job: Job) => indexOf(job, (s) => action(s) === "pulumi/actions" && s.with?.command);

/** The action that exchanges GitHub's OIDC token with each cloud, and Pulumi Cloud's. */
const CLOUD_LOGIN = { aws: "aws-actions/configure-aws-credentials", gcp: "google-github-actions/auth", azure: "azure/login" } as const;
const OIDC_ACTIONS = [...Object.values(CLOUD_LOGIN), "pulumi/auth-actions"];
type Cloud = keyof typeof CLOUD_LOGIN;

const pr = load("pull-request.yml");
const deploy = load("deploy.yml");
const ALL = { "pull-request.yml": pr, "deploy.yml": deploy };
/** The jobs that run Pulumi against a stack's cloud and cluster, with the kind of identity each uses. */
const CLUSTER_JOBS: [string, Job, "PREVIEW" | "DEPLOY", "dev" | "prod" | "per-environment"][] = [
  ["pull-request.yml preview", pr.jobs.preview, "PREVIEW", "per-environment"],
  ["deploy.yml deploy-dev", deploy.jobs["deploy-dev"], "DEPLOY", "dev"],
  ["deploy.yml deploy-prod", deploy.jobs["deploy-prod"], "DEPLOY", "prod"],
];

/** Runs a script of this repository; PATH starts with `bin` (the fakes) when given. */
function run(args: string[], opts: { bin?: string; input?: string; env?: Record<string, string>; cwd?: string } = {}) {
  const r = spawnSync("bash", args, { cwd: opts.cwd ?? ROOT, input: opts.input ?? "", encoding: "utf8", env: { ...process.env, ...(opts.bin ? { PATH: `${opts.bin}:${process.env.PATH}` } : {}), ...opts.env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
/** The same without blocking the event loop (a local HTTP server must answer meanwhile). */
function runAsync(args: string[], bin: string) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn("bash", args, { cwd: ROOT, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("close", (status: number | null) => resolve({ status, stdout, stderr }));
  });
}
/** A directory of fake executables (bash bodies); each call is appended to $dir/calls as "<name> <args>". */
function fakes(bodies: Record<string, string>): { bin: string; calls: () => string[] } {
  const bin = mkdtempSync(path.join(os.tmpdir(), "ci-fakes-"));
  const log = path.join(bin, "calls");
  writeFileSync(log, "");
  for (const [name, body] of Object.entries(bodies)) {
    writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\necho "${name} $*" >> "${log}"\n${body}\n`);
    chmodSync(path.join(bin, name), 0o755);
  }
  return { bin, calls: () => readFileSync(log, "utf8").split("\n").filter(Boolean) };
}

describe.each(Object.entries(ALL))("%s", (_file, wf) => {
  test("grants nothing by default; every job declares its permissions, never write access to code", () => {
    expect(wf.permissions).toEqual({});
    for (const [name, job] of Object.entries(wf.jobs)) {
      expect({ name, permissions: job.permissions }).toEqual({ name, permissions: expect.any(Object) });
      expect(job.permissions!.contents).toBe("read");
      for (const [scope, level] of Object.entries(job.permissions!)) expect(["contents:read", "id-token:write", "pull-requests:write"]).toContain(`${scope}:${level}`);
    }
  });

  test("id-token: write exactly where a step exchanges it (OIDC), and no long-lived cloud or Pulumi key anywhere", () => {
    for (const [name, job] of Object.entries(wf.jobs)) {
      const exchanges = OIDC_ACTIONS.reduce((n, a) => n + stepsUsing(job, a).length, 0);
      expect({ name, idToken: job.permissions!["id-token"] === "write" }).toEqual({ name, idToken: exchanges > 0 });
      for (const step of stepsUsing(job, CLOUD_LOGIN.aws)) {
        expect(step.with?.["role-to-assume"]).toMatch(/^\$\{\{ .*vars\./);
        expect(step.with).not.toHaveProperty("aws-access-key-id");
      }
      // GCP: Workload Identity Federation only (a provider and the service account to impersonate), never a key file.
      for (const step of stepsUsing(job, CLOUD_LOGIN.gcp)) {
        expect(step.with?.workload_identity_provider).toBe("${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}");
        expect(step.with?.service_account).toMatch(/^\$\{\{ .*vars\.GCP_\w+_SERVICE_ACCOUNT/);
        expect(Object.keys(step.with ?? {})).not.toEqual(expect.arrayContaining(["credentials_json"]));
      }
      // Azure: an app's federated credential (client and tenant ids, no secret, no `creds` JSON).
      for (const step of stepsUsing(job, CLOUD_LOGIN.azure)) {
        expect(step.with?.["client-id"]).toMatch(/^\$\{\{ .*vars\.AZURE_\w+_CLIENT_ID/);
        expect(step.with?.["tenant-id"]).toBe("${{ vars.AZURE_TENANT_ID }}");
        for (const key of ["creds", "client-secret", "auth-type"]) expect(step.with).not.toHaveProperty(key);
      }
    }
    const text = JSON.stringify(wf);
    expect(text).not.toMatch(/aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID|PULUMI_ACCESS_TOKEN/);
    expect(text).not.toMatch(/credentials_json|GOOGLE_CREDENTIALS|GOOGLE_APPLICATION_CREDENTIALS_JSON|service_account_key|ARM_CLIENT_SECRET|client-secret|AZURE_CREDENTIALS|ARM_CLIENT_CERTIFICATE/i);
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
    // Every stack file, local included: the gate needs no cluster.
    expect(job.steps[order[4]].run).toMatch(/for file in Pulumi\.\*\.yaml/);
  });

  test("previews each changed stack with the policy pack and its environment's config, commented on the PR", () => {
    const job = pr.jobs.preview;
    expect(job.needs).toEqual(expect.arrayContaining(["test", "changed-stacks"]));
    expect(job.strategy.matrix.include).toBe("${{ fromJSON(needs.changed-stacks.outputs.matrix) }}");
    expect(job.strategy["fail-fast"]).toBe(false);
    expect(job.if).toContain("head.repo.full_name == github.repository");
    const [preview] = stepsUsing(job, "pulumi/actions").filter((s) => s.with?.command);
    expect(preview.with).toMatchObject({ command: "preview", "comment-on-pr": true, policyPacks: "policies", policyPackConfigs: "policies/config/${{ matrix.environment }}.json" });
    expect(preview.with!["stack-name"]).toMatch(/\$\{\{ matrix\.stack \}\}$/);
    expect(job.permissions).toEqual({ contents: "read", "id-token": "write", "pull-requests": "write" });
    for (const login of Object.values(CLOUD_LOGIN)) {
      expect(usesIndex(job, login)).toBeGreaterThan(-1);
      expect(usesIndex(job, login)).toBeLessThan(pulumiCommand(job));
    }
    expect(pr.jobs["changed-stacks"].steps.some((s) => /git diff --name-only .*\| bash scripts\/ci\/changed-stacks\.sh/.test(s.run ?? ""))).toBe(true);
  });

  test("only the preview job can write to pull requests", () => {
    const writers = Object.entries(pr.jobs).filter(([, j]) => j.permissions?.["pull-requests"] === "write").map(([n]) => n);
    expect(writers).toEqual(["preview"]);
  });
});

describe.each(CLUSTER_JOBS)("%s: OIDC login to the stack's cloud", (_name, job, kind, environment) => {
  const stepOf = (cloud: Cloud) => job.steps.find((s) => action(s) === CLOUD_LOGIN[cloud])!;

  test("one login per cloud, each only for that cloud's stacks, all before the reach check and Pulumi", () => {
    for (const cloud of Object.keys(CLOUD_LOGIN) as Cloud[]) {
      expect(stepsUsing(job, CLOUD_LOGIN[cloud])).toHaveLength(1);
      expect(stepOf(cloud).if).toBe(`matrix.cloud == '${cloud}'`);
      const login = job.steps.indexOf(stepOf(cloud));
      expect(login).toBeLessThan(runs(job, /scripts\/ci\/check-cluster-reach\.sh/));
      expect(login).toBeLessThan(pulumiCommand(job));
    }
    expect(stepOf("aws").with!["aws-region"]).toBe("${{ matrix.region }}");
    // Every cloud a CI stack uses has its login (local stacks are never in a CI matrix).
    const clouds = new Set((JSON.parse(run(["scripts/ci/stack-matrix.sh", "--all"]).stdout) as Entry[]).map((e) => e.cloud));
    for (const cloud of clouds) expect(Object.keys(CLOUD_LOGIN)).toContain(cloud);
  });

  test(`the ${kind.toLowerCase()} identities, ${environment === "per-environment" ? "per environment" : `of ${environment}`}, from repository variables`, () => {
    const identities = [stepOf("aws").with!["role-to-assume"], stepOf("gcp").with!.service_account, stepOf("azure").with!["client-id"]];
    const subscription = stepOf("azure").with!["subscription-id"];
    for (const identity of identities) {
      expect(identity).toMatch(new RegExp(kind === "PREVIEW" ? "PREVIEW" : "DEPLOY"));
      expect(identity).not.toMatch(new RegExp(kind === "PREVIEW" ? "DEPLOY" : "PREVIEW"));
      if (environment === "per-environment") {
        expect(identity).toMatch(/^\$\{\{ matrix\.environment == 'prod' && vars\.\w*PROD\w* \|\| vars\.\w*DEV\w* \}\}$/);
      } else if (environment === "prod") {
        expect(identity).toMatch(/vars\.\w*PROD\w*/);
      } else {
        expect(identity).not.toMatch(/PROD/);
      }
    }
    if (environment === "per-environment") expect(subscription).toBe("${{ matrix.environment == 'prod' && vars.AZURE_PROD_SUBSCRIPTION_ID || vars.AZURE_DEV_SUBSCRIPTION_ID }}");
    else expect(subscription).toBe(`\${{ vars.AZURE_${environment.toUpperCase()}_SUBSCRIPTION_ID }}`);
  });

  test("GCP: gcloud with gke-gcloud-auth-plugin (the kubeconfig's credential plugin), logged in after the WIF exchange", () => {
    const [setup] = stepsUsing(job, "google-github-actions/setup-gcloud");
    expect(setup.if).toBe("matrix.cloud == 'gcp'");
    expect(setup.with?.install_components).toBe("gke-gcloud-auth-plugin");
    expect(job.steps.indexOf(setup)).toBeGreaterThan(job.steps.indexOf(stepOf("gcp")));
    expect(job.steps.indexOf(setup)).toBeLessThan(runs(job, /check-cluster-reach/));
  });

  test("Azure: kubelogin for the kubeconfig, and the azure-native provider on OIDC (ARM_USE_OIDC), no secret", () => {
    const [kubelogin] = stepsUsing(job, "azure/use-kubelogin");
    expect(kubelogin.if).toBe("matrix.cloud == 'azure'");
    expect(kubelogin.with?.["kubelogin-version"]).toMatch(/^v\d+\.\d+\.\d+$/);
    const arm = job.steps.find((s) => /ARM_USE_OIDC=true/.test(s.run ?? ""))!;
    expect(arm.if).toBe("matrix.cloud == 'azure'");
    expect(arm.run).toMatch(/>> "\$GITHUB_ENV"/);
    for (const name of ["ARM_CLIENT_ID", "ARM_TENANT_ID", "ARM_SUBSCRIPTION_ID"]) expect(arm.run).toContain(`${name}=`);
    // The provider's identity is the one azure/login used.
    expect(arm.env).toEqual({ CLIENT_ID: stepOf("azure").with!["client-id"], TENANT_ID: stepOf("azure").with!["tenant-id"], SUBSCRIPTION_ID: stepOf("azure").with!["subscription-id"] });
    expect(job.steps.indexOf(arm)).toBeLessThan(pulumiCommand(job));
    expect(job.steps.indexOf(kubelogin)).toBeLessThan(runs(job, /check-cluster-reach/));
  });
});

describe("deploy.yml", () => {
  test("runs on pushes to main, one deployment at a time", () => {
    expect(deploy.on).toEqual({ push: { branches: ["main"] } });
  });

  test("builds every service image once and pushes it, tagged with the commit SHA, to every registry", () => {
    const job = deploy.jobs.images;
    expect(job.strategy.matrix.service).toEqual(["serving", "drift", "monitor", "api", "mlflow"]);
    const builds = stepsUsing(job, "docker/build-push-action");
    expect(builds).toHaveLength(1);
    expect(builds[0].with).toMatchObject({
      push: true,
      context: ".",
      file: "${{ matrix.service == 'mlflow' && 'services/mlflow/Dockerfile' || 'services/Dockerfile' }}",
      "build-args": "${{ matrix.service != 'mlflow' && format('SERVICE={0}', matrix.service) || '' }}",
      tags: "${{ steps.tags.outputs.tags }}",
    });
    const tags = job.steps.find((s) => s.id === "tags")!;
    expect(tags.run).toMatch(/bash scripts\/ci\/image-tags\.sh "\$SERVICE" "\$GITHUB_SHA"/);
    expect(tags.env).toEqual({ ECR_REGISTRY: "${{ steps.ecr.outputs.registry }}", GCP_IMAGE_REGISTRY: "${{ vars.GCP_IMAGE_REGISTRY }}", AZURE_IMAGE_REGISTRY: "${{ vars.AZURE_IMAGE_REGISTRY }}", SERVICE: "${{ matrix.service }}" });
    expect(job.steps.indexOf(tags)).toBeLessThan(job.steps.indexOf(builds[0]));
  });

  test("the images job logs in to each registry by OIDC, GCP and Azure only when their registry variable is set", () => {
    const job = deploy.jobs.images;
    const build = usesIndex(job, "docker/build-push-action");
    expect(usesIndex(job, "aws-actions/amazon-ecr-login")).toBeLessThan(build);
    for (const [login, variable, cloud] of [[CLOUD_LOGIN.gcp, "GCP_IMAGE_REGISTRY", "gcp"], [CLOUD_LOGIN.azure, "AZURE_IMAGE_REGISTRY", "azure"]] as const) {
      const [step] = stepsUsing(job, login);
      expect(step.if).toBe(`vars.${variable} != ''`);
      const docker = job.steps.find((s) => new RegExp(`registry-login\\.sh ${cloud} \\$REGISTRIES`).test(s.run ?? ""))!;
      expect(docker.if).toBe(`vars.${variable} != ''`);
      expect(docker.env?.REGISTRIES).toBe(`\${{ vars.${variable} }}`);
      expect(job.steps.indexOf(step)).toBeLessThan(job.steps.indexOf(docker));
      expect(job.steps.indexOf(docker)).toBeLessThan(build);
    }
    const [gcp] = stepsUsing(job, CLOUD_LOGIN.gcp);
    expect(gcp.with).toMatchObject({ service_account: "${{ vars.GCP_IMAGES_SERVICE_ACCOUNT }}", token_format: "access_token" });
    expect(job.steps.find((s) => /registry-login\.sh gcp/.test(s.run ?? ""))!.env?.GCP_ACCESS_TOKEN).toBe(`\${{ steps.${gcp.id}.outputs.access_token }}`);
    expect(stepsUsing(job, CLOUD_LOGIN.azure)[0].with?.["client-id"]).toBe("${{ vars.AZURE_IMAGES_CLIENT_ID }}");
  });

  test("each environment's deploy is a matrix over its stacks as the stack files list them (local left out)", () => {
    const list = deploy.jobs.stacks;
    expect(list.permissions).toEqual({ contents: "read" });
    for (const env of ["dev", "prod"] as const) {
      const job = deploy.jobs[`deploy-${env}`];
      expect(list.steps.some((s) => new RegExp(`echo "${env}=\\$\\(bash scripts/ci/stack-matrix\\.sh --all --environment ${env}\\)"`).test(s.run ?? ""))).toBe(true);
      expect(list.outputs?.[env]).toBe(`\${{ steps.list.outputs.${env} }}`);
      expect(job.strategy.matrix.include).toBe(`\${{ fromJSON(needs.stacks.outputs.${env}) }}`);
      expect(job.strategy["fail-fast"]).toBe(false);
      expect(job.needs).toEqual(expect.arrayContaining(["stacks"]));
      expect(job.if).toBe(`needs.stacks.outputs.${env} != '[]'`);
      const entries = JSON.parse(run(["scripts/ci/stack-matrix.sh", "--all", "--environment", env]).stdout) as Entry[];
      const suffix = env === "dev" ? "dev" : "prod";
      expect(entries.map((e) => e.stack).sort()).toEqual([`azure-${suffix}`, suffix, `gcp-${suffix}`].sort());
    }
  });

  test("pulumi up on dev after the images, then prod only through the protected production environment", () => {
    expect(deploy.jobs["deploy-dev"].needs).toEqual(expect.arrayContaining(["images"]));
    expect(deploy.jobs["deploy-prod"].needs).toEqual(expect.arrayContaining(["deploy-dev"]));
    expect(deploy.jobs["deploy-prod"].environment).toBe("production");
    expect(deploy.jobs["deploy-dev"].environment).toBe("dev");
    for (const [job, env] of [["deploy-dev", "dev"], ["deploy-prod", "prod"]] as const) {
      const ups = stepsUsing(deploy.jobs[job], "pulumi/actions").filter((s) => s.with?.command);
      expect(ups).toHaveLength(1);
      expect(ups[0].with).toMatchObject({ command: "up", policyPacks: "policies", policyPackConfigs: `policies/config/${env}.json` });
      expect(ups[0].with!["stack-name"]).toBe("${{ vars.PULUMI_ORG }}/${{ matrix.stack }}");
      const pin = runs(deploy.jobs[job], /scripts\/ci\/pin-images\.sh "\$\{\{ vars\.PULUMI_ORG \}\}\/\$\{\{ matrix\.stack \}\}" "\$GITHUB_SHA"/);
      expect(pin).toBeGreaterThan(-1);
      expect(pin).toBeLessThan(deploy.jobs[job].steps.indexOf(ups[0]));
      // Digests are read from the stack's registry: docker is logged in to it first, with the job's identity.
      const login = runs(deploy.jobs[job], /registry-login\.sh "\$CLOUD" \$\(bash scripts\/ci\/stack-registry\.sh "\$STACK"\)/);
      expect(login).toBeGreaterThan(-1);
      expect(login).toBeLessThan(pin);
      for (const cloudLogin of Object.values(CLOUD_LOGIN)) expect(usesIndex(deploy.jobs[job], cloudLogin)).toBeLessThan(login);
      expect(login).toBeGreaterThan(indexOf(deploy.jobs[job], (s) => action(s) === "pulumi/actions" && !s.with?.command));
      expect(runs(deploy.jobs[job], /plan -- "\$\{\{ matrix\.stack \}\}" --policy/)).toBeGreaterThan(-1);
    }
    expect(deploy.jobs["deploy-dev"].steps.find((s) => /pin-images/.test(s.run ?? ""))!.run).not.toMatch(/--digests/);
    expect(deploy.jobs["deploy-prod"].steps.find((s) => /pin-images/.test(s.run ?? ""))!.run).toMatch(/--digests$/);
    const prodGate = runs(deploy.jobs["deploy-prod"], /plan -- "\$\{\{ matrix\.stack \}\}" --policy/);
    expect(prodGate).toBeGreaterThan(runs(deploy.jobs["deploy-prod"], /pin-images/));
  });

  test("every job that talks to a cluster runs where it can reach the API server, and checks it before Pulumi does", () => {
    for (const [, job] of CLUSTER_JOBS) {
      expect(job["runs-on"]).toBe(`\${{ fromJSON(vars.DEPLOY_RUNNER_LABELS || '["ubuntu-24.04"]') }}`);
      const check = runs(job, /scripts\/ci\/check-cluster-reach\.sh "\$\{\{ vars\.PULUMI_ORG \}\}\/\$\{\{ matrix\.stack \}\}"/);
      expect(check).toBeGreaterThan(-1);
      expect(check).toBeLessThan(pulumiCommand(job));
      // The check needs the CLI (stack outputs) and the cloud credentials.
      for (const login of [...Object.values(CLOUD_LOGIN), "pulumi/auth-actions"]) expect(check).toBeGreaterThan(usesIndex(job, login));
      expect(check).toBeGreaterThan(job.steps.findIndex((s) => action(s) === "pulumi/actions" && !s.with?.command));
    }
    expect(deploy.jobs.images["runs-on"]).toBe("ubuntu-24.04");
  });

  test("no job but prod uses the production environment", () => {
    expect(Object.entries(deploy.jobs).filter(([, j]) => j.environment === "production").map(([n]) => n)).toEqual(["deploy-prod"]);
  });
});

describe("scripts/ci/changed-stacks.sh and stack-matrix.sh", () => {
  const matrix = (changed: string[], cwd = ROOT) => {
    const r = run([path.join(cwd, "scripts/ci/changed-stacks.sh")], { input: changed.join("\n"), cwd });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    return JSON.parse(r.stdout) as Entry[];
  };
  const CLOUD_STACKS: Entry[] = [
    { stack: "dev", environment: "dev", cloud: "aws", region: "us-west-2" },
    { stack: "prod", environment: "prod", cloud: "aws", region: "us-west-2" },
    { stack: "gcp-dev", environment: "dev", cloud: "gcp", region: "europe-west4" },
    { stack: "gcp-prod", environment: "prod", cloud: "gcp", region: "europe-west4" },
    { stack: "azure-dev", environment: "dev", cloud: "azure", region: "westeurope" },
    { stack: "azure-prod", environment: "prod", cloud: "azure", region: "westeurope" },
  ];
  /** A scratch copy of the scripts with the given stack files (the scripts work from their ../.. directory). */
  function scratch(files: Record<string, string>): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), "stacks-"));
    mkdirSync(path.join(dir, "scripts", "ci"), { recursive: true });
    for (const f of readdirSync(path.join(ROOT, "scripts", "ci"))) copyFileSync(path.join(ROOT, "scripts", "ci", f), path.join(dir, "scripts", "ci", f));
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    return dir;
  }

  test("a change to the program or the pack previews every cloud stack, each with its environment, cloud and region; never local", () => {
    const all = matrix(["components/kubernetes/services.ts", "README.md"]);
    expect(all).toEqual(expect.arrayContaining(CLOUD_STACKS));
    expect(all.map((e) => e.stack)).not.toContain("local");
    expect(all.every((e) => e.cloud !== "local")).toBe(true);
    const stackFiles = readdirSync(ROOT).filter((f) => /^Pulumi\..+\.yaml$/.test(f) && f !== "Pulumi.local.yaml");
    expect(all).toHaveLength(stackFiles.length);
    expect(matrix(["policies/config/prod.json"]).length).toBe(all.length);
  });

  test("a stack file previews that stack; the local stack, services, docs and tests preview none", () => {
    expect(matrix(["Pulumi.prod.yaml"])).toEqual([{ stack: "prod", environment: "prod", cloud: "aws", region: "us-west-2" }]);
    expect(matrix(["Pulumi.gcp-prod.yaml", "Pulumi.azure-dev.yaml"])).toEqual(expect.arrayContaining([CLOUD_STACKS[3], CLOUD_STACKS[4]]));
    expect(matrix(["Pulumi.local.yaml"])).toEqual([]);
    expect(matrix(["services/serving/src/server.ts", "test/policies/gate.test.ts", "docs/x.md"])).toEqual([]);
    expect(matrix(["Pulumi.deleted-stack.yaml"])).toEqual([]);
  });

  test("mlops:cloud defaults to Pulumi.yaml's (aws); a stack without environment or with an odd name is refused", () => {
    const dir = scratch({
      "Pulumi.yaml": "name: x\nconfig:\n  mlops:cloud:\n    value: aws\n",
      "Pulumi.a.yaml": "config:\n  aws:region: eu-central-1\n  mlops:environment: dev\n",
      "Pulumi.kind.yaml": "config:\n  mlops:environment: dev\n  mlops:cloud: local\n",
    });
    expect(matrix(["infra/x.ts"], dir)).toEqual([{ stack: "a", environment: "dev", cloud: "aws", region: "eu-central-1" }]);
    writeFileSync(path.join(dir, "Pulumi.b.yaml"), "config:\n  mlops:cloud: gcp\n  gcp:region: us-east1\n");
    const noEnv = run([path.join(dir, "scripts/ci/changed-stacks.sh")], { input: "Pulumi.b.yaml", cwd: dir });
    expect(noEnv.status).toBe(1);
    expect(noEnv.stderr).toMatch(/Pulumi\.b\.yaml has no mlops:environment/);
    writeFileSync(path.join(dir, "Pulumi.c.yaml"), "config:\n  mlops:cloud: azure\n  mlops:environment: dev\n");
    expect(run([path.join(dir, "scripts/ci/stack-matrix.sh"), "c"], { cwd: dir }).stderr).toMatch(/no azure-native:location/);
    expect(run([path.join(dir, "scripts/ci/stack-matrix.sh"), "a;rm -rf x"], { cwd: dir }).status).toBe(1);
  });

  test("stack-matrix.sh --environment lists that environment's cloud stacks (the deploy matrices)", () => {
    for (const env of ["dev", "prod"]) {
      const r = run(["scripts/ci/stack-matrix.sh", "--all", "--environment", env]);
      expect(r.status).toBe(0);
      expect((JSON.parse(r.stdout) as Entry[]).sort((a, b) => a.stack.localeCompare(b.stack))).toEqual(CLOUD_STACKS.filter((e) => e.environment === env).sort((a, b) => a.stack.localeCompare(b.stack)));
    }
    expect(JSON.parse(run(["scripts/ci/stack-matrix.sh", "--environment", "staging", "--all"]).stdout)).toEqual([]);
    expect(JSON.parse(run(["scripts/ci/stack-matrix.sh"]).stdout)).toEqual([]);
  });
});

describe("scripts/ci/image-tags.sh", () => {
  const tags = (env: Record<string, string>) => run(["scripts/ci/image-tags.sh", "drift", "abc123"], { env: { GCP_IMAGE_REGISTRY: "", AZURE_IMAGE_REGISTRY: "", ECR_REGISTRY: "", ...env } });

  test("ECR always; GCP and Azure registries when their variables are set (several allowed)", () => {
    const ecr = "123456789012.dkr.ecr.us-west-2.amazonaws.com";
    expect(tags({ ECR_REGISTRY: ecr }).stdout.trim().split("\n")).toEqual([`${ecr}/mlops/drift:abc123`]);
    const all = tags({ ECR_REGISTRY: ecr, GCP_IMAGE_REGISTRY: "europe-west4-docker.pkg.dev/acme-mlops-dev/mlops europe-west4-docker.pkg.dev/acme-mlops-prod/mlops", AZURE_IMAGE_REGISTRY: "mlopsprodacr1234.azurecr.io/mlops" });
    expect(all.status).toBe(0);
    expect(all.stdout.trim().split("\n")).toEqual([
      `${ecr}/mlops/drift:abc123`,
      "europe-west4-docker.pkg.dev/acme-mlops-dev/mlops/drift:abc123",
      "europe-west4-docker.pkg.dev/acme-mlops-prod/mlops/drift:abc123",
      "mlopsprodacr1234.azurecr.io/mlops/drift:abc123",
    ]);
  });

  test("a registry variable that is not <host>/<path> fails the job", () => {
    const bad = tags({ ECR_REGISTRY: "x.dkr.ecr.us-west-2.amazonaws.com", AZURE_IMAGE_REGISTRY: "https://mlops.azurecr.io/mlops" });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/AZURE_IMAGE_REGISTRY/);
  });
});

describe("scripts/ci/pin-images.sh", () => {
  const SHA = "0123abcd";
  const digestOf = (service: string) => `sha256:${service.padEnd(64, "0").slice(0, 64).replace(/[^0-9a-f]/g, "a")}`;
  /** pulumi: the stack's config registry and imageRegistry output (unset when undefined); docker: the images that exist. */
  function clis(opts: { configRegistry?: string; outputRegistry?: string; images: string[] }) {
    const manifests = opts.images.map((ref) => `    "${ref}") echo '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","digest":"${digestOf(ref.split("/").pop()!.split(":")[0])}","size":1}' ;;`).join("\n");
    return fakes({
      pulumi: `case "$*" in
  "config get --path mlops:images.registry --stack org/prod") ${opts.configRegistry ? `echo ${opts.configRegistry}` : `echo "error: configuration key 'mlops:images.registry' not found" >&2; exit 255`} ;;
  "stack output imageRegistry --stack org/prod") ${opts.outputRegistry ? `echo ${opts.outputRegistry}` : `echo "error: current stack does not have output property 'imageRegistry'" >&2; exit 255`} ;;
  "stack select org/prod"|"config set "*) ;;
  *) echo "unexpected pulumi $*" >&2; exit 3 ;;
esac`,
      docker: `[ "$1 $2 $3" = "buildx imagetools inspect" ] && [ "$5 $6" = "--format {{json .Manifest}}" ] || { echo "unexpected docker $*" >&2; exit 3; }
case "$4" in
${manifests}
    *) echo "ERROR: $4: not found" >&2; exit 1 ;;
esac`,
    });
  }
  const SERVICES = ["serving", "drift", "monitor", "api", "mlflow"];
  const sets = (calls: string[]) => calls.filter((c) => c.startsWith("pulumi config set"));

  test("--digests: each image's digest as its registry reports it (mlops:images.registry first), then the tag", () => {
    const registry = "123456789012.dkr.ecr.us-west-2.amazonaws.com/mlops";
    const { bin, calls } = clis({ configRegistry: registry, outputRegistry: "ignored.example/x", images: SERVICES.map((s) => `${registry}/${s}:${SHA}`) });
    const r = run(["scripts/ci/pin-images.sh", "org/prod", SHA, "--digests"], { bin });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(sets(calls())).toEqual([`pulumi config set --path mlops:images.tag ${SHA}`, ...SERVICES.map((s) => `pulumi config set --path mlops:images.${s}.digest ${digestOf(s)}`)]);
    expect(calls().filter((c) => c.startsWith("docker"))).toEqual(SERVICES.map((s) => `docker buildx imagetools inspect ${registry}/${s}:${SHA} --format {{json .Manifest}}`));
    expect(calls().some((c) => /^aws /.test(c))).toBe(false);
  });

  test("without mlops:images.registry, the stack's imageRegistry output (Artifact Registry, ACR)", () => {
    for (const registry of ["europe-west4-docker.pkg.dev/acme-mlops-prod/mlops", "mlopsprodacr1234.azurecr.io/mlops"]) {
      const { bin, calls } = clis({ outputRegistry: registry, images: SERVICES.map((s) => `${registry}/${s}:${SHA}`) });
      const r = run(["scripts/ci/pin-images.sh", "org/prod", SHA, "--digests"], { bin });
      expect(r.status).toBe(0);
      // The tag, then a digest per image.
      expect(sets(calls())).toHaveLength(1 + SERVICES.length);
      expect(r.stdout).toContain(`${registry}/serving:${SHA}@${digestOf("serving")}`);
    }
  });

  test("a missing image fails with its reference and the registry variables to check, and nothing is pinned", () => {
    const registry = "europe-west4-docker.pkg.dev/acme-mlops-prod/mlops";
    const { bin, calls } = clis({ outputRegistry: registry, images: [`${registry}/serving:${SHA}`, `${registry}/drift:${SHA}`] });
    const r = run(["scripts/ci/pin-images.sh", "org/prod", SHA, "--digests"], { bin });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`no image ${registry}/monitor:${SHA}`);
    expect(r.stderr).toContain(`no image ${registry}/mlflow:${SHA}`);
    expect(r.stderr).toMatch(/GCP_IMAGE_REGISTRY/);
    expect(sets(calls())).toEqual([]);
  });

  test("without --digests: the tag only, once every image exists", () => {
    const registry = "mlopsdevacr1234.azurecr.io/mlops";
    const ok = clis({ outputRegistry: registry, images: SERVICES.map((s) => `${registry}/${s}:${SHA}`) });
    expect(run(["scripts/ci/pin-images.sh", "org/prod", SHA], { bin: ok.bin }).status).toBe(0);
    expect(sets(ok.calls())).toEqual([`pulumi config set --path mlops:images.tag ${SHA}`]);
    const missing = clis({ outputRegistry: registry, images: [] });
    expect(run(["scripts/ci/pin-images.sh", "org/prod", SHA], { bin: missing.bin }).status).toBe(1);
    expect(sets(missing.calls())).toEqual([]);
  });

  test("no registry at all (first deploy): the tag is set unchecked; digests cannot be, and say why", () => {
    const tagOnly = clis({ images: [] });
    const r = run(["scripts/ci/pin-images.sh", "org/prod", SHA], { bin: tagOnly.bin });
    expect(r.status).toBe(0);
    expect(sets(tagOnly.calls())).toEqual([`pulumi config set --path mlops:images.tag ${SHA}`]);
    const digests = clis({ images: [] });
    const d = run(["scripts/ci/pin-images.sh", "org/prod", SHA, "--digests"], { bin: digests.bin });
    expect(d.status).toBe(1);
    expect(d.stderr).toMatch(/no mlops:images\.registry and no imageRegistry output/);
    expect(sets(digests.calls())).toEqual([]);
  });
});

describe("scripts/ci/registry-login.sh", () => {
  const docker = `cat > "$(dirname "$0")/stdin-$#"; echo "docker stdin: $(cat "$(dirname "$0")/stdin-$#")" >> "$(dirname "$0")/calls"`;

  test("GCP: the OIDC access token as oauth2accesstoken, once per host", () => {
    const { bin, calls } = fakes({ docker, gcloud: "echo gcloud-token" });
    const r = run(["scripts/ci/registry-login.sh", "gcp", "europe-west4-docker.pkg.dev/a/mlops", "europe-west4-docker.pkg.dev/b/mlops"], { bin, env: { GCP_ACCESS_TOKEN: "wif-token" } });
    expect(r.status).toBe(0);
    expect(calls()).toEqual(["docker login --username oauth2accesstoken --password-stdin https://europe-west4-docker.pkg.dev", "docker stdin: wif-token"]);
    const viaGcloud = fakes({ docker, gcloud: "echo gcloud-token" });
    expect(run(["scripts/ci/registry-login.sh", "gcp", "us-docker.pkg.dev/p/mlops"], { bin: viaGcloud.bin, env: { GCP_ACCESS_TOKEN: "" } }).status).toBe(0);
    expect(viaGcloud.calls()).toContain("docker stdin: gcloud-token");
  });

  test("Azure: the az login's Entra ID token exchanged at the registry for an ACR refresh token", () => {
    const { bin, calls } = fakes({
      docker,
      az: `case "$*" in "account get-access-token"*) echo entra-token ;; "account show"*) echo tenant-1 ;; esac`,
      curl: `echo '{"refresh_token":"acr-refresh"}'`,
    });
    const r = run(["scripts/ci/registry-login.sh", "azure", "mlopsprodacr1234.azurecr.io/mlops"], { bin });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const curl = calls().find((c) => c.startsWith("curl"))!;
    expect(curl).toContain("https://mlopsprodacr1234.azurecr.io/oauth2/exchange");
    expect(curl).toContain("access_token=entra-token");
    expect(calls()).toEqual(expect.arrayContaining(["docker login --username 00000000-0000-0000-0000-000000000000 --password-stdin mlopsprodacr1234.azurecr.io", "docker stdin: acr-refresh"]));
  });

  test("AWS: ecr get-login-password in the registry's region; no registry: nothing to do", () => {
    const { bin, calls } = fakes({ docker, aws: "echo ecr-password" });
    expect(run(["scripts/ci/registry-login.sh", "aws", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops"], { bin }).status).toBe(0);
    // (the two sides of the pipe start together: their order in the log is not fixed)
    expect(calls().sort()).toEqual(["aws ecr get-login-password --region eu-west-1", "docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com", "docker stdin: ecr-password"]);
    const none = fakes({ docker });
    expect(run(["scripts/ci/registry-login.sh", "azure"], { bin: none.bin }).status).toBe(0);
    expect(none.calls()).toEqual([]);
  });
});

describe("scripts/ci/check-cluster-reach.sh", () => {
  /** A stand-in for the pulumi CLI: the stack's kubeconfig output (secret: only shown with --show-secrets). */
  function fakePulumi(server: string | undefined) {
    const kubeconfig = server && JSON.stringify({ apiVersion: "v1", kind: "Config", clusters: [{ name: "mlops-dev", cluster: { server, "certificate-authority-data": "Q0E=" } }], users: [{ name: "mlops-dev", user: { exec: { command: "gke-gcloud-auth-plugin", args: [] } } }] });
    return fakes({
      pulumi: kubeconfig
        ? `case "$*" in "stack output kubeconfig --show-secrets --stack org/dev") echo '${kubeconfig}' ;; "stack output kubeconfig --stack org/dev") echo '[secret]' ;; *) echo "unexpected pulumi $*" >&2; exit 3 ;; esac`
        : `echo "error: current stack does not have output property 'kubeconfig'" >&2; exit 255`,
    }).bin;
  }
  const check = (bin: string) => runAsync(["scripts/ci/check-cluster-reach.sh", "org/dev"], bin);

  test("an API server that answers (even 401) is reachable, whatever the cloud: no cloud CLI is called", async () => {
    const server = http.createServer((req, res) => res.writeHead(req.url === "/livez" ? 401 : 404).end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const bin = fakePulumi(`http://127.0.0.1:${port}`);
      for (const cli of ["aws", "gcloud", "az"]) writeFileSync(path.join(bin, cli), "#!/usr/bin/env bash\nexit 97\n", { mode: 0o755 });
      const r = await check(bin);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`http://127.0.0.1:${port} answered HTTP 401`);
    } finally {
      server.close();
    }
  });

  test("an unreachable one fails before Pulumi would hang, saying which runner settings fix it", async () => {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
    const r = await check(fakePulumi(`http://127.0.0.1:${port}`));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot reach the Kubernetes API of mlops-dev \(http:\/\/127\.0\.0\.1:\d+\)[\s\S]*DEPLOY_RUNNER_LABELS[\s\S]*privateAccessCidrs[\s\S]*publicAccessCidrs[\s\S]*authorized/);
  });

  test("a stack without a cluster yet (first deploy) has nothing to check", async () => {
    const r = await check(fakePulumi(undefined));
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("first deploy");
  });

  test("a kubeconfig without an API server URL is an error, not a pass", async () => {
    const { bin } = fakes({ pulumi: `echo '{"clusters":[]}'` });
    const r = await check(bin);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/names no API server/);
  });
});
