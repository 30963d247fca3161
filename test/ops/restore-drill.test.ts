/**
 * The restore drill in dry-run mode, against sample outputs of `pulumi stack output --json` for each
 * target (test/ops/fixtures: taken from the stacks under Pulumi's mocks, a `-drill` stack derived from
 * each; secrets as the CLI prints them, `[secret]`). Nothing is run against a cloud: the spawned drill
 * finds stand-ins of aws, gcloud, az, kubectl, velero and pulumi first on its PATH, which record any call,
 * and none may be made.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { cronIntervalHours, defaultStamp, DrillError, drillPlan, executableScript, main, parseArgs, renderPlan, sh, type StackOutputs } from "../../scripts/ops/restore-drill";
import { runProgram } from "../../scripts/plan/harness";

const ROOT = path.resolve(__dirname, "..", "..");
const FIXTURES = path.join(__dirname, "fixtures");
const SCRIPT = path.join(ROOT, "scripts", "ops", "restore-drill.ts");
const fixture = (name: string): StackOutputs => JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), "utf8"));
const STAMP = "20260301t0945";
const TIME = "2026-03-01T09:30:00Z";

/** The plan as text, and the commands alone (no comments, no heredoc body). */
function dryRun(source: string, target?: string, extra: Record<string, string> = {}) {
  const plan = drillPlan({ source: fixture(source), target: target ? fixture(target) : undefined, stamp: STAMP, restoreTime: TIME, ...extra });
  const text = renderPlan(plan, true);
  return { plan, text, commands: plan.sections.flatMap((s) => s.steps.flatMap((st) => st.commands)) };
}

describe("the drill's plan per cloud (dry run)", () => {
  test("AWS: RDS point-in-time restore beside the source, then Velero into the fresh stack", () => {
    const { text, commands, plan } = dryRun("aws-prod", "aws-prod-drill");
    expect(plan).toMatchObject({ cloud: "aws", sourceStack: "prod", targetStack: "prod-drill", warnings: [] });
    expect(text).toContain("# DRY RUN: nothing below has been run.");
    expect(commands).toContain(
      "aws rds restore-db-instance-to-point-in-time --region us-west-2 --source-db-instance-identifier mlops-prod-db-postgres --target-db-instance-identifier mlops-prod-db-postgres-drill-20260301t0945 --restore-time 2026-03-01T09:30:00Z --db-subnet-group-name mlops-prod-db-subnets --vpc-security-group-ids sg-0123456789abcdef0 --db-parameter-group-name mlops-prod-db-params-postgres16 --no-publicly-accessible --no-multi-az --copy-tags-to-snapshot --tags Key=purpose,Value=restore-drill",
    );
    expect(commands).toContain("aws rds wait db-instance-available --region us-west-2 --db-instance-identifier mlops-prod-db-postgres-drill-20260301t0945");
    // The fresh stack's Velero role reads the source's bucket, under its prefix only, its key through S3 only.
    const grant = commands.find((c) => c.startsWith("aws iam put-role-policy"))!;
    expect(grant).toMatch(/^aws iam put-role-policy --role-name mlops-prod-velero-irsa-role-7f3a2c1 --policy-name restore-drill-read-20260301t0945 --policy-document '/);
    const document = JSON.parse(grant.slice(grant.indexOf("'") + 1, -1));
    expect(document.Statement.map((s: any) => [s.Action, s.Resource])).toEqual([
      ["s3:ListBucket", "arn:aws:s3:::mlops-prod-backups-20260101000000000000000001"],
      ["s3:GetObject", "arn:aws:s3:::mlops-prod-backups-20260101000000000000000001/velero/*"],
      ["kms:Decrypt", "arn:aws:kms:us-west-2:123456789012:key/mlops-prod-backups-s3"],
    ]);
    expect(commands).toContain(
      'velero backup-location create drill-source-20260301t0945 --provider aws --bucket mlops-prod-backups-20260101000000000000000001 --prefix velero --access-mode ReadOnly --config region=us-west-2,kmsKeyId=arn:aws:kms:us-west-2:123456789012:key/mlops-prod-backups-s3 --kubeconfig "$TARGET_KUBECONFIG"',
    );
    expect(commands).toContain(
      'velero restore create drill-20260301t0945-platform --from-schedule prod-platform --namespace-mappings mlops:mlops-drill --existing-resource-policy none --allow-partially-failed --wait --kubeconfig "$TARGET_KUBECONFIG"',
    );
    expect(commands).toContain(
      'velero restore create drill-20260301t0945-monitoring --from-schedule prod-monitoring --namespace-mappings monitoring:monitoring-drill --existing-resource-policy none --allow-partially-failed --wait --kubeconfig "$TARGET_KUBECONFIG"',
    );
    // prod backs up the monitoring volumes: the source's repository password, from its secret output, never printed.
    expect(commands).toContain("DRILL_REPOSITORY_PASSWORD=$(pulumi stack output backupRepositoryPassword --show-secrets --stack prod)");
    expect(commands).toContain('velero schedule pause prod-drill-monitoring --kubeconfig "$TARGET_KUBECONFIG"');
    expect(text).not.toContain("[secret]");
  });

  test("GCP: a Cloud SQL clone at the point in time, the fresh stack's service account on the source bucket", () => {
    const { commands, plan } = dryRun("gcp-prod", "gcp-prod-drill");
    expect(plan.cloud).toBe("gcp");
    expect(commands).toContain("gcloud sql instances clone mlops-prod-db-postgres mlops-prod-db-postgres-drill-20260301t0945 --project acme-mlops-prod --point-in-time 2026-03-01T09:30:00Z");
    expect(commands).toContain(
      "gcloud storage buckets add-iam-policy-binding gs://mlops-prod-backups-bucket-a1b2c3d --member=serviceAccount:mlops-prod-velero@acme-mlops-drill.iam.gserviceaccount.com --role=roles/storage.objectViewer",
    );
    // With Workload Identity the plugin signs URLs as the Velero that reads: the fresh stack's account.
    expect(commands.find((c) => c.startsWith("velero backup-location create"))).toContain("--provider gcp --bucket mlops-prod-backups-bucket-a1b2c3d --prefix velero --access-mode ReadOnly --config serviceAccount=mlops-prod-velero@acme-mlops-drill.iam.gserviceaccount.com");
    expect(commands).toContain(
      'velero restore create drill-20260301t0945-platform --from-schedule gcp-prod-platform --namespace-mappings mlops:mlops-drill --existing-resource-policy none --allow-partially-failed --wait --kubeconfig "$TARGET_KUBECONFIG"',
    );
  });

  test("Azure: a Flexible Server point-in-time restore, a reader role and a network rule on the source's account", () => {
    const { commands, plan } = dryRun("azure-prod", "azure-prod-drill");
    expect(plan.cloud).toBe("azure");
    expect(commands).toContain(
      "az postgres flexible-server restore --resource-group mlops-prod-rg --name mlops-prod-db-postgres-offline-drill-20260301t0945 --source-server mlops-prod-db-postgres-offline --restore-time 2026-03-01T09:30:00Z",
    );
    const source = fixture("azure-prod").recovery!.backupStore!;
    const target = fixture("azure-prod-drill").recovery!.backupStore!;
    expect(commands).toContain(
      `az role assignment create --assignee ${target.identity} --role 'Storage Blob Data Reader' --scope /subscriptions/${source.config.subscriptionId}/resourceGroups/mlops-prod-rg/providers/Microsoft.Storage/storageAccounts/${source.config.storageAccount}/blobServices/default/containers/backups`,
    );
    expect(commands).toContain(`az storage account network-rule add --resource-group mlops-prod-rg --account-name ${source.config.storageAccount} --subnet ${target.allowedSubnetIds![0]}`);
    expect(commands.find((c) => c.startsWith("velero backup-location create"))).toContain(`--config resourceGroup=mlops-prod-rg,storageAccount=${source.config.storageAccount},subscriptionId=${source.config.subscriptionId},storageAccountURI=https://${source.config.storageAccount}.blob.core.windows.net/,useAAD=true`);
  });

  test("local: pg_dump and pg_restore of the three databases, no Velero, said so", () => {
    const { commands, plan, text } = dryRun("local", undefined, { sourceStack: "local" });
    expect(plan.cloud).toBe("local");
    expect(plan.warnings.join(" ")).toMatch(/keeps no Velero backups and its PostgreSQL has no point-in-time recovery/);
    for (const db of ["mlflow", "mlflow_auth", "monitor", "api"]) {
      expect(commands).toContain(
        `kubectl --context "$(pulumi stack output clusterName --stack local)" -n mlops-data exec statefulset/postgres -c postgres -- sh -c 'pg_dump --format=custom --username="$POSTGRES_USER" --dbname=${db}' > ${db}-20260301t0945.dump`,
      );
    }
    expect(text).not.toMatch(/velero /);
  });

  test("the latest restorable time when none is asked; the database part alone without a target, with the next step said", () => {
    const plan = drillPlan({ source: fixture("aws-prod"), stamp: STAMP });
    const commands = plan.sections.flatMap((s) => s.steps.flatMap((st) => st.commands));
    expect(commands.find((c) => c.startsWith("aws rds restore-db-instance-to-point-in-time"))).toContain("--use-latest-restorable-time");
    expect(plan.sections.map((s) => s.title)).toEqual([expect.stringMatching(/^0\. /), expect.stringMatching(/^1\. Databases/)]);
    expect(plan.warnings).toEqual([expect.stringMatching(/No --target: the cluster part is left out.*pulumi stack init prod-drill/)]);
    const gcp = drillPlan({ source: fixture("gcp-prod"), stamp: STAMP }).sections[1].steps.flatMap((s) => s.commands);
    expect(gcp).toContain("gcloud sql instances clone mlops-prod-db-postgres mlops-prod-db-postgres-drill-20260301t0945 --project acme-mlops-prod");
  });

  test("the verification runs in the source cluster as a restricted pod the NetworkPolicies let reach PostgreSQL, with the admin credentials from their Secret", () => {
    const { commands } = dryRun("aws-prod");
    const apply = commands.find((c) => c.startsWith('kubectl --kubeconfig "$SOURCE_KUBECONFIG" apply -f - <<EOF'))!;
    const pod = JSON.parse(apply.split("\n").slice(1, -1).join("\n"));
    expect(pod.metadata).toMatchObject({ namespace: "mlops", labels: { "app.kubernetes.io/name": "db-init" } });
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    const container = pod.spec.containers[0];
    expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    expect(container.image).toBe("$DRILL_IMAGE");
    expect(container.env[0]).toEqual({ name: "PGHOST", value: "$DRILL_DB_HOST" });
    expect(container.env.slice(1).map((e: any) => e.valueFrom.secretKeyRef)).toEqual(["PGPORT", "PGUSER", "PGPASSWORD", "PGSSLMODE"].map((key) => ({ name: "postgres-admin", key })));
    const python = container.command[2] as string;
    for (const table of ["registered_models", "model_versions", "predictions", "feedback", "alert_actions"]) expect(python).toContain(table);
    // Nothing in the heredoc the shell would expand but the two variables, no backslash it would eat.
    const body = apply.split("\n").slice(1, -1).join("\n");
    expect(body.replace(/\$DRILL_IMAGE|\$DRILL_DB_HOST/g, "")).not.toMatch(/[$`]|\\\\/);
  });

  test("the RPO per part of the platform, from the outputs", () => {
    const rows = Object.fromEntries(dryRun("aws-prod", "aws-prod-drill").plan.rpo.map((r) => [r.what.split(" ")[0] + " " + r.what.split(" ")[1], r]));
    expect(rows["MLflow's registry"]).toMatchObject({ backedUpBy: expect.stringMatching(/RDS point-in-time recovery .*kept 14 days/), mayLose: expect.stringMatching(/about 5 minutes/) });
    expect(rows["Cluster objects"].mayLose).toMatch(/^up to 6 h \(0 \*\/6 \* \* \*\)/);
    expect(rows["Prometheus' TSDB"].backedUpBy).toMatch(/file-system backup, Schedule prod-monitoring/);
    expect(rows["The drift"]).toMatchObject({ backedUpBy: "nothing: by design", mayLose: expect.stringMatching(/refill from new traffic/) });
    const dev: StackOutputs = JSON.parse(JSON.stringify(fixture("aws-prod")).replace(/"fileSystemBackup":true/g, '"fileSystemBackup":false').replace(/0 \*\/6 \* \* \*/g, "0 3 * * *"));
    const devRows = drillPlan({ source: dev, stamp: STAMP }).rpo;
    expect(devRows.find((r) => r.what.startsWith("Prometheus"))!.mayLose).toMatch(/all metric history/);
    expect(devRows.find((r) => r.what.startsWith("Cluster objects"))!.mayLose).toMatch(/^up to 24 h/);
  });

  test("what it refuses: a target that is the source, another cloud, a future or malformed time, outputs without `recovery`", () => {
    const refuse = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        expect(err).toBeInstanceOf(DrillError);
        return (err as Error).message;
      }
      throw new Error("not refused");
    };
    expect(refuse(() => drillPlan({ source: fixture("aws-prod"), target: fixture("aws-prod"), stamp: STAMP }))).toMatch(/the target stack is the source stack \(prod\)/);
    expect(refuse(() => drillPlan({ source: fixture("aws-prod"), target: fixture("gcp-prod-drill"), stamp: STAMP }))).toMatch(/restore into a stack of the same cloud/);
    expect(refuse(() => drillPlan({ source: fixture("aws-prod"), stamp: STAMP, restoreTime: "2999-01-01T00:00:00Z" }))).toMatch(/is in the future/);
    expect(refuse(() => drillPlan({ source: fixture("aws-prod"), stamp: STAMP, restoreTime: "yesterday" }))).toMatch(/a UTC time in ISO 8601/);
    expect(refuse(() => drillPlan({ source: fixture("aws-prod"), stamp: "Bad Stamp" }))).toMatch(/--stamp/);
    expect(refuse(() => drillPlan({ source: { clusterName: "x" }, stamp: STAMP }))).toMatch(/no `recovery` output/);
    expect(refuse(() => drillPlan({ source: fixture("local"), stamp: STAMP }))).toMatch(/pass --source-stack/);
    const sameBucket = { ...fixture("aws-prod-drill"), recovery: { ...fixture("aws-prod-drill").recovery!, backupStore: fixture("aws-prod").recovery!.backupStore } };
    expect(refuse(() => drillPlan({ source: fixture("aws-prod"), target: sameBucket, stamp: STAMP }))).toMatch(/the target's backup store is the source's/);
  });

  test("helpers: shell quoting, cron intervals, the default stamp, the arguments", () => {
    expect(sh("plain-word_1.2:3/x")).toBe("plain-word_1.2:3/x");
    expect(sh("it's a test")).toBe(`'it'"'"'s a test'`);
    expect(cronIntervalHours("0 3 * * *")).toBe(24);
    expect(cronIntervalHours("0 */6 * * *")).toBe(6);
    expect(cronIntervalHours("15 1,13 * * *")).toBe(12);
    expect(cronIntervalHours("0 3 * * 1")).toBeUndefined();
    expect(defaultStamp(new Date("2026-03-01T09:45:12Z"))).toBe("20260301t0945");
    expect(parseArgs(["--source", "-", "--dry-run"])).toEqual({ source: "-", mode: "dry-run" });
    expect(() => parseArgs(["--source", "a.json"])).toThrow(/say --dry-run \(print the commands\) or --execute/);
    expect(() => parseArgs(["--source", "a.json", "--dry-run", "--execute"])).toThrow(/choose one of --dry-run and --execute/);
    expect(() => parseArgs(["--dry-run"])).toThrow(/--source is required/);
    expect(() => parseArgs(["--source", "a.json", "--dry-run", "--wat"])).toThrow(/unknown argument --wat/);
  });

  test("--execute runs the restore and verification steps only; clean-up stays printed", () => {
    const { plan } = dryRun("aws-prod", "aws-prod-drill");
    const script = executableScript(plan);
    expect(script.startsWith("set -euo pipefail\n")).toBe(true);
    expect(script).toContain("aws rds restore-db-instance-to-point-in-time");
    expect(script).toContain("velero restore create drill-20260301t0945-platform");
    expect(script).not.toContain("aws rds delete-db-instance");
    expect(script).not.toContain("delete namespace");
    expect(script).not.toContain("aws iam delete-role-policy");
  });
});

describe("the script, spawned as an operator runs it", () => {
  let bin: string;
  let calls: string;
  beforeAll(() => {
    // Stand-ins for every CLI the plan names: any call is recorded (a dry run must make none).
    bin = mkdtempSync(path.join(tmpdir(), "drill-bin-"));
    calls = path.join(bin, "calls.log");
    for (const tool of ["aws", "gcloud", "az", "kubectl", "velero", "pulumi", "bash", "sh", "psql"]) {
      writeFileSync(path.join(bin, tool), `#!/bin/sh\necho "${tool} $*" >> ${calls}\nexit 97\n`);
      chmodSync(path.join(bin, tool), 0o755);
    }
  });
  const run = (args: string[], input?: string) =>
    spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", SCRIPT, ...args], { cwd: ROOT, input, encoding: "utf8", env: { ...process.env, PATH: `${bin}:${path.dirname(process.execPath)}`, TS_NODE_TRANSPILE_ONLY: "true" } });

  test.each([
    ["aws", "aws-prod", "aws-prod-drill"],
    ["gcp", "gcp-prod", "gcp-prod-drill"],
    ["azure", "azure-prod", "azure-prod-drill"],
  ])("%s: --dry-run prints the plan from output files and runs no command", (_cloud, source, target) => {
    const r = run(["--source", path.join(FIXTURES, `${source}.json`), "--target", path.join(FIXTURES, `${target}.json`), "--restore-time", TIME, "--stamp", STAMP, "--dry-run"]);
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toBe(renderPlan(drillPlan({ source: fixture(source), target: fixture(target), restoreTime: TIME, stamp: STAMP }), true));
    expect(existsSync(calls)).toBe(false);
  });

  test("the source piped from `pulumi stack output --json` (stdin), local included", () => {
    const r = run(["--source", "-", "--source-stack", "local", "--stamp", STAMP, "--dry-run"], readFileSync(path.join(FIXTURES, "local.json"), "utf8"));
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toContain("pg_dump --format=custom");
    expect(existsSync(calls)).toBe(false);
  });

  test("a bad invocation exits 2 with the reason, and runs nothing", () => {
    const noMode = run(["--source", path.join(FIXTURES, "aws-prod.json")]);
    expect(noMode.status).toBe(2);
    expect(noMode.stderr).toMatch(/^restore-drill: say --dry-run/);
    const notJson = run(["--source", "-", "--dry-run"], "not json");
    expect(notJson.status).toBe(2);
    expect(notJson.stderr).toMatch(/stdin is not the JSON of `pulumi stack output --json`/);
    expect(existsSync(calls)).toBe(false);
  });
});

describe("the sample outputs are what the program exports", () => {
  test.each([
    ["prod", "aws-prod"],
    ["gcp-prod", "gcp-prod"],
    ["azure-prod", "azure-prod"],
    ["local", "local"],
  ])("%s: the recovery and backupSchedules outputs under mocks match the fixture's shape", async (stack, name) => {
    const r = await runProgram({ stack });
    const sample = fixture(name);
    const shape = (v: unknown): unknown => (Array.isArray(v) ? v.map(shape) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)])) : typeof v);
    expect(shape(r.outputs.recovery)).toEqual(shape(sample.recovery));
    expect(shape(r.outputs.backupSchedules)).toEqual(shape(sample.backupSchedules));
    expect(r.outputs.backupSchedules).toEqual(sample.backupSchedules);
    // The drill reads the outputs the program exports, not only the fixtures.
    const out = Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, r.secretOutputs.includes(k) ? "[secret]" : v]));
    let text = "";
    const io = {
      stdin: () => JSON.stringify(out),
      out: (s: string) => {
        text += s;
        return true;
      },
      err: () => true,
    };
    expect(main(["--source", "-", "--source-stack", stack, "--stamp", STAMP, "--dry-run"], io)).toBe(0);
    expect(text).toContain("## What a restore may lose (the RPO)");
  });
});
