/**
 * The restore drill (docs/restore.md): from a stack's outputs (`pulumi stack output --json`), the exact
 * commands that restore MLflow's, the monitor's and the platform API's databases to a point in time beside the source, and
 * the cluster's objects (Velero) into a fresh stack, then verify, measure what was lost, and clean up.
 *
 *   pulumi stack output --json --stack prod > prod.json
 *   pulumi stack output --json --stack prod-drill > prod-drill.json
 *   node -r ts-node/register/transpile-only scripts/ops/restore-drill.ts --source prod.json --target prod-drill.json --dry-run
 *   pulumi stack output --json --stack prod | node -r ts-node/register/transpile-only scripts/ops/restore-drill.ts --source - --dry-run
 *
 * --dry-run prints the plan and runs nothing. --execute runs the plan's restore and verification steps
 * in one bash (`set -euo pipefail`), stopping at the first failure; the clean-up steps are only printed.
 * Options: --restore-time <UTC ISO 8601, e.g. 2026-03-01T09:30:00Z> (default: the latest restorable
 * time), --stamp <suffix of what the drill creates> (default: the current UTC minute), --source-stack /
 * --target-stack <names> (default: read from the Schedules' names, `<stack>-platform`).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { Unwrap } from "@pulumi/pulumi";
import type { RecoveryOutputs } from "../../components/contracts";
import type { ScheduleSummary } from "../../components/kubernetes/velero";

// ---------------------------------------------------------------------------------------------
// What the drill reads: the stack outputs of components/contracts.ts (RecoveryOutputs) and infra/operations.ts.

// The same types as the program's (type-only imports: the drill loads no Pulumi code), resolved.
type Recovery = Unwrap<RecoveryOutputs>;
type Database = Recovery["database"];
type BackupStore = NonNullable<Recovery["backupStore"]>;
type Provider = BackupStore["provider"];
type Schedule = ScheduleSummary;

export interface StackOutputs {
  clusterName?: string;
  region?: string;
  databaseEndpoint?: string;
  recovery?: Recovery;
  backupSchedules?: Schedule[];
  [key: string]: unknown;
}

export interface DrillOptions {
  source: StackOutputs;
  /** The fresh stack the cluster's objects are restored into; unset: the database part only. */
  target?: StackOutputs;
  sourceStack?: string;
  targetStack?: string;
  /** UTC ISO 8601; unset: the latest restorable time. */
  restoreTime?: string;
  /** Suffix of everything the drill creates (lower-case letters, digits). */
  stamp: string;
}

export interface Step {
  title: string;
  commands: string[];
  /** Printed, never run by --execute: clean-up, and what needs a person's judgement first. */
  manual?: boolean;
  note?: string;
}

export interface Section {
  title: string;
  steps: Step[];
}

export interface RpoRow {
  what: string;
  backedUpBy: string;
  mayLose: string;
}

export interface DrillPlan {
  cloud: Provider | "local";
  sourceStack: string;
  targetStack?: string;
  sections: Section[];
  rpo: RpoRow[];
  warnings: string[];
}

export class DrillError extends Error {}

/** The platform's databases on the foundation's server (components/kubernetes/databases.ts DATABASES). */
const DATABASES = ["mlflow", "mlflow_auth", "monitor", "api"];
/** The user MLflow's image runs as (services/mlflow/Dockerfile), for the verification pod. */
const MLFLOW_UID = 10001;
const SUFFIX_OF_PLATFORM_SCHEDULE = /-platform$/;

// ---------------------------------------------------------------------------------------------
// Helpers

/** A word for the shell: as is when it is safe, else single-quoted. */
export function sh(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'"'"'`)}'`;
}
const cmd = (...words: (string | false | undefined)[]) => words.filter((w): w is string => typeof w === "string").join(" ");

function need<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null || value === "" || value === "[secret]") throw new DrillError(`the stack outputs have no ${what}: run \`pulumi up\` with this version of the program first (it exports \`recovery\` and \`backupSchedules\`)`);
  return value;
}

function stackOf(outputs: StackOutputs, explicit: string | undefined, which: "source" | "target"): string {
  if (explicit) return explicit;
  const platform = outputs.backupSchedules?.find((s) => SUFFIX_OF_PLATFORM_SCHEDULE.test(s.name));
  if (platform) return platform.name.replace(SUFFIX_OF_PLATFORM_SCHEDULE, "");
  throw new DrillError(`cannot tell the ${which} stack's name from its outputs (no Velero Schedule): pass --${which}-stack <name>`);
}

/** Hours between runs of a cron expression, for the simple shapes the profiles use; undefined otherwise. */
export function cronIntervalHours(cron: string): number | undefined {
  const [minute, hour, dom, month, dow] = cron.trim().split(/\s+/);
  if ([dom, month, dow].some((f) => f !== "*") || !/^\d+$/.test(minute ?? "")) return undefined;
  if (/^\d+$/.test(hour)) return 24;
  const step = /^\*\/(\d+)$/.exec(hour);
  if (step) return Number(step[1]);
  if (/^\d+(,\d+)+$/.test(hour)) {
    const hours = hour.split(",").map(Number).sort((a, b) => a - b);
    return Math.max(...hours.map((h, i) => (i ? h - hours[i - 1] : h + 24 - hours[hours.length - 1])));
  }
  return undefined;
}

/** The stamp: the current UTC minute, `20260301t0930`. */
export function defaultStamp(now = new Date()): string {
  return now.toISOString().slice(0, 16).replace(/[-:]/g, "").toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// The plan

export function drillPlan(o: DrillOptions): DrillPlan {
  if (!/^[a-z0-9]{1,16}$/.test(o.stamp)) throw new DrillError(`--stamp "${o.stamp}": 1-16 lower-case letters and digits (it ends the names of what the drill creates)`);
  if (o.restoreTime !== undefined && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(o.restoreTime)) {
    throw new DrillError(`--restore-time "${o.restoreTime}": a UTC time in ISO 8601, e.g. 2026-03-01T09:30:00Z`);
  }
  if (o.restoreTime !== undefined && Date.parse(o.restoreTime) > Date.now()) throw new DrillError(`--restore-time ${o.restoreTime} is in the future`);
  const recovery = need(o.source.recovery, "`recovery` output");
  const db = need(recovery.database, "recovery.database");
  const sourceStack = stackOf(o.source, o.sourceStack, "source");
  const targetStack = o.target ? stackOf(o.target, o.targetStack, "target") : undefined;
  if (o.target && targetStack === sourceStack) throw new DrillError(`the target stack is the source stack (${sourceStack}): restore into a fresh stack (docs/restore.md)`);
  const cloud: DrillPlan["cloud"] = db.kind === "in-cluster" ? "local" : recovery.backupStore?.provider ?? (db.kind === "rds" ? "aws" : db.kind === "cloudsql" ? "gcp" : "azure");
  const warnings: string[] = [];
  const sections: Section[] = [];

  if (cloud === "local") {
    sections.push(localSection(o, db as Extract<Database, { kind: "in-cluster" }>, sourceStack));
    return { cloud, sourceStack, targetStack, sections, rpo: rpoRows(o, cloud), warnings: ["A local cluster keeps no Velero backups and its PostgreSQL has no point-in-time recovery: this plan dumps and restores the databases with pg_dump."] };
  }

  sections.push(preamble(sourceStack, targetStack, cloud));
  sections.push(databaseSection(o, db, sourceStack));
  if (o.target && targetStack) {
    sections.push(clusterSection(o, sourceStack, targetStack, warnings));
  } else {
    warnings.push(
      `No --target: the cluster part is left out. Bring up a fresh stack of the same environment in another region (AWS), project (GCP) or subscription (Azure), e.g. \`pulumi stack init ${sourceStack}-drill\`, then run again with --target.`,
    );
  }
  return { cloud, sourceStack, targetStack, sections, rpo: rpoRows(o, cloud), warnings };
}

function preamble(sourceStack: string, targetStack: string | undefined, cloud: Provider): Section {
  const plugin = { aws: "aws eks get-token (AWS CLI v2)", gcp: "gke-gcloud-auth-plugin", azure: "kubelogin (after az login)" }[cloud];
  const steps: Step[] = [
    {
      title: `Kubeconfigs (they run ${plugin}; no credential is written to them)`,
      commands: [
        cmd("pulumi stack output kubeconfig --show-secrets --stack", sh(sourceStack), "> source-kubeconfig.json"),
        'export SOURCE_KUBECONFIG="$PWD/source-kubeconfig.json"',
        ...(targetStack ? [cmd("pulumi stack output kubeconfig --show-secrets --stack", sh(targetStack), "> target-kubeconfig.json"), 'export TARGET_KUBECONFIG="$PWD/target-kubeconfig.json"'] : []),
      ],
    },
  ];
  return { title: "0. Before you start", steps };
}

/** A pod in the source cluster's platform namespace (labelled as the database Job, so the NetworkPolicies let it reach PostgreSQL) that reports the newest rows of each database. */
function verificationPod(name: string): string {
  const checks = [
    ["mlflow", "registered models", "SELECT count(*) FROM registered_models"],
    ["mlflow", "newest model version change", "SELECT to_timestamp(max(last_updated_time) / 1000.0) FROM model_versions"],
    ["mlflow", "newest run", "SELECT to_timestamp(max(start_time) / 1000.0) FROM runs"],
    ["mlflow_auth", "users", "SELECT count(*) FROM users"],
    ["monitor", "newest prediction event", "SELECT max(received_at) FROM predictions"],
    ["monitor", "newest ground-truth label", "SELECT max(received_at) FROM feedback"],
    ["monitor", "newest alert action", "SELECT max(updated_at) FROM alert_actions"],
    ["api", "platform API users", "SELECT count(*) FROM users"],
    ["api", "newest audit entry", "SELECT max(at) FROM audit_log"],
  ];
  const python = [
    "import psycopg2",
    `checks = ${JSON.stringify(checks).replace(/"/g, "'")}`,
    "for db, what, sql in checks:",
    "    conn = psycopg2.connect(dbname=db)",
    "    cur = conn.cursor()",
    "    cur.execute(sql)",
    "    print(db + ': ' + what + ': ' + str(cur.fetchone()[0]))",
    "    conn.close()",
  ].join("\n");
  const fromAdmin = (key: string) => ({ name: key, valueFrom: { secretKeyRef: { name: "postgres-admin", key } } });
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "mlops", labels: { "app.kubernetes.io/name": "db-init", "app.kubernetes.io/instance": name, "app.kubernetes.io/part-of": "mlops-platform" } },
    spec: {
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: MLFLOW_UID, runAsGroup: MLFLOW_UID, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "verify",
          image: "$DRILL_IMAGE",
          command: ["python", "-c", python],
          env: [{ name: "PGHOST", value: "$DRILL_DB_HOST" }, ...["PGPORT", "PGUSER", "PGPASSWORD", "PGSSLMODE"].map(fromAdmin)],
          resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
        },
      ],
    },
  };
  return `kubectl --kubeconfig "$SOURCE_KUBECONFIG" apply -f - <<EOF\n${JSON.stringify(pod, null, 2)}\nEOF`;
}

function verifySteps(hostCommand: string, stamp: string): Step[] {
  const pod = `restore-drill-verify-${stamp}`;
  const k = 'kubectl --kubeconfig "$SOURCE_KUBECONFIG" -n mlops';
  return [
    {
      title: "Verify: the newest rows of MLflow's, the monitor's and the platform API's databases on the restored server (from the source cluster, which reaches it)",
      note: "Compare the newest timestamps with the restore time: the gap is what the restore lost (the RPO you measured).",
      commands: [
        `DRILL_DB_HOST=$(${hostCommand})`,
        `DRILL_IMAGE=$(${k} get deployment mlflow -o jsonpath='{.spec.template.spec.containers[0].image}')`,
        verificationPod(pod),
        `${k} wait --for=jsonpath='{.status.phase}'=Succeeded pod/${pod} --timeout=300s`,
        `${k} logs pod/${pod}`,
        `${k} delete pod ${pod}`,
      ],
    },
  ];
}

function databaseSection(o: DrillOptions, db: Database, sourceStack: string): Section {
  const t = o.restoreTime;
  const steps: Step[] = [];
  const title = `1. Databases: point-in-time recovery of ${sourceStack}'s server (MLflow's mlflow and mlflow_auth, the monitor's monitor, the platform API's api) into a new server beside it`;
  if (db.kind === "rds") {
    const target = `${db.instance}-drill-${o.stamp}`;
    if (target.length > 63) throw new DrillError(`the restored instance's identifier ${target} is longer than RDS allows (63): pass a shorter --stamp`);
    const r = ["--region", sh(db.region)];
    steps.push(
      { title: "How far back and how recent: the restorable window", commands: [cmd("aws rds describe-db-instances", ...r, "--db-instance-identifier", sh(db.instance), "--query", sh("DBInstances[0].[LatestRestorableTime,BackupRetentionPeriod]"), "--output text")] },
      {
        title: `Restore to ${t ?? "the latest restorable time"} as ${target} (the source's subnet group, security group and parameter group; not public)`,
        commands: [
          cmd(
            "aws rds restore-db-instance-to-point-in-time",
            ...r,
            "--source-db-instance-identifier",
            sh(db.instance),
            "--target-db-instance-identifier",
            sh(target),
            ...(t ? ["--restore-time", sh(t)] : ["--use-latest-restorable-time"]),
            "--db-subnet-group-name",
            sh(db.subnetGroup),
            "--vpc-security-group-ids",
            ...db.securityGroupIds.map(sh),
            "--db-parameter-group-name",
            sh(db.parameterGroup),
            "--no-publicly-accessible --no-multi-az --copy-tags-to-snapshot",
            "--tags",
            sh("Key=purpose,Value=restore-drill"),
          ),
          cmd("aws rds wait db-instance-available", ...r, "--db-instance-identifier", sh(target)),
        ],
      },
      ...verifySteps(cmd("aws rds describe-db-instances", ...r, "--db-instance-identifier", sh(target), "--query", sh("DBInstances[0].Endpoint.Address"), "--output text"), o.stamp),
      { title: "Clean up the restored instance", manual: true, commands: [cmd("aws rds delete-db-instance", ...r, "--db-instance-identifier", sh(target), "--skip-final-snapshot --delete-automated-backups")] },
    );
  } else if (db.kind === "cloudsql") {
    const target = `${db.instance}-drill-${o.stamp}`;
    const p = ["--project", sh(db.project)];
    steps.push(
      {
        title: "How far back: point-in-time recovery on, and the days of transaction logs kept",
        commands: [cmd("gcloud sql instances describe", sh(db.instance), ...p, `--format=${sh("value(settings.backupConfiguration.pointInTimeRecoveryEnabled,settings.backupConfiguration.transactionLogRetentionDays)")}`)],
      },
      {
        title: `Clone to ${t ?? "now (the latest state)"} as ${target} (same private network, same users)`,
        commands: [cmd("gcloud sql instances clone", sh(db.instance), sh(target), ...p, ...(t ? ["--point-in-time", sh(t)] : []))],
      },
      ...verifySteps(cmd("gcloud sql instances describe", sh(target), ...p, `--format=${sh("value(ipAddresses[0].ipAddress)")}`), o.stamp),
      {
        title: "Clean up the clone (it inherits the source's deletion protection)",
        manual: true,
        commands: [cmd("gcloud sql instances patch", sh(target), ...p, "--no-deletion-protection --quiet"), cmd("gcloud sql instances delete", sh(target), ...p, "--quiet")],
      },
    );
  } else if (db.kind === "azure-flexible") {
    const target = `${db.server}-drill-${o.stamp}`;
    if (target.length > 63) throw new DrillError(`the restored server's name ${target} is longer than Azure allows (63): pass a shorter --stamp`);
    const g = ["--resource-group", sh(db.resourceGroup)];
    steps.push(
      { title: "How far back: the earliest restore point", commands: [cmd("az postgres flexible-server show", ...g, "--name", sh(db.server), "--query", sh("backup.earliestRestoreDate"), "--output tsv")] },
      {
        title: `Restore to ${t ?? "now (the latest state)"} as ${target} (the source's delegated subnet and private DNS zone)`,
        commands: [cmd("az postgres flexible-server restore", ...g, "--name", sh(target), "--source-server", sh(db.server), ...(t ? ["--restore-time", sh(t)] : []))],
      },
      ...verifySteps(cmd("az postgres flexible-server show", ...g, "--name", sh(target), "--query fullyQualifiedDomainName --output tsv"), o.stamp),
      { title: "Clean up the restored server", manual: true, commands: [cmd("az postgres flexible-server delete", ...g, "--name", sh(target), "--yes")] },
    );
  }
  return { title, steps };
}

function grantSteps(source: BackupStore, target: BackupStore, stamp: string): { grant: Step; revoke: Step } {
  const b = source.bucket;
  if (source.provider === "aws") {
    const role = target.identity.split("/").pop()!;
    const policyName = `restore-drill-read-${stamp}`;
    const kms = source.config.kmsKeyId;
    const document = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        { Sid: "ListSource", Effect: "Allow", Action: "s3:ListBucket", Resource: `arn:aws:s3:::${b}`, Condition: { StringLike: { "s3:prefix": [source.prefix, `${source.prefix}/*`] } } },
        { Sid: "ReadSource", Effect: "Allow", Action: "s3:GetObject", Resource: `arn:aws:s3:::${b}/${source.prefix}/*` },
        ...(kms ? [{ Sid: "DecryptSource", Effect: "Allow", Action: "kms:Decrypt", Resource: kms, Condition: { StringEquals: { "kms:ViaService": `s3.${source.region}.amazonaws.com` } } }] : []),
      ],
    });
    return {
      grant: { title: `Let the fresh stack's Velero role read ${b} (read-only, its prefix only; same account)`, commands: [cmd("aws iam put-role-policy --role-name", sh(role), "--policy-name", sh(policyName), "--policy-document", sh(document))] },
      revoke: { title: "Revoke the read grant", manual: true, commands: [cmd("aws iam delete-role-policy --role-name", sh(role), "--policy-name", sh(policyName))] },
    };
  }
  if (source.provider === "gcp") {
    const member = `serviceAccount:${target.identity}`;
    return {
      grant: { title: `Let the fresh stack's Velero service account read gs://${b}`, commands: [cmd("gcloud storage buckets add-iam-policy-binding", sh(`gs://${b}`), `--member=${sh(member)}`, "--role=roles/storage.objectViewer")] },
      revoke: { title: "Revoke the read grant", manual: true, commands: [cmd("gcloud storage buckets remove-iam-policy-binding", sh(`gs://${b}`), `--member=${sh(member)}`, "--role=roles/storage.objectViewer")] },
    };
  }
  const c = source.config;
  const scope = `/subscriptions/${c.subscriptionId}/resourceGroups/${c.resourceGroup}/providers/Microsoft.Storage/storageAccounts/${c.storageAccount}/blobServices/default/containers/${b}`;
  const subnets = target.allowedSubnetIds ?? [];
  const g = ["--resource-group", sh(c.resourceGroup), "--account-name", sh(c.storageAccount)];
  return {
    grant: {
      title: `Let the fresh stack's Velero identity read the ${b} container, and its AKS subnet through ${c.storageAccount}'s network rules`,
      commands: [
        cmd("az role assignment create --assignee", sh(target.identity), "--role", sh("Storage Blob Data Reader"), "--scope", sh(scope)),
        ...subnets.map((s) => cmd("az storage account network-rule add", ...g, "--subnet", sh(s))),
      ],
    },
    revoke: {
      title: "Revoke the read grant and the network rule",
      manual: true,
      commands: [cmd("az role assignment delete --assignee", sh(target.identity), "--role", sh("Storage Blob Data Reader"), "--scope", sh(scope)), ...subnets.map((s) => cmd("az storage account network-rule remove", ...g, "--subnet", sh(s)))],
    },
  };
}

/** Where a store is, whatever the cloud: the bucket, or the storage account and container on Azure. */
function storeLocation(store: BackupStore): string {
  return store.provider === "azure" ? `${store.config.storageAccount}/${store.bucket}` : store.bucket;
}

function clusterSection(o: DrillOptions, sourceStack: string, targetStack: string, warnings: string[]): Section {
  const source = need(o.source.recovery!.backupStore, "recovery.backupStore (the source's Velero bucket)");
  const target = need(o.target!.recovery?.backupStore, "recovery.backupStore of the target (is it a fresh stack of this program?)");
  const sourceSchedules = need(o.source.backupSchedules, "backupSchedules (the source's Velero Schedules)");
  const targetSchedules = o.target!.backupSchedules ?? [];
  if (source.provider !== target.provider) throw new DrillError(`the source keeps its backups in ${source.provider} and the target runs Velero's ${target.provider} plugin: restore into a stack of the same cloud`);
  if (storeLocation(source) === storeLocation(target)) throw new DrillError(`the target's backup store is the source's (${storeLocation(source)}): restore into a fresh stack`);
  const velero = (...words: string[]) => cmd("velero", ...words, '--kubeconfig "$TARGET_KUBECONFIG"');
  const kubectl = (...words: string[]) => cmd('kubectl --kubeconfig "$TARGET_KUBECONFIG"', ...words);
  const location = `drill-source-${o.stamp}`;
  const config = { ...source.config, ...(source.provider === "gcp" ? { serviceAccount: target.identity } : {}) };
  const { grant, revoke } = grantSteps(source, target, o.stamp);
  const fs = sourceSchedules.some((s) => s.fileSystemBackup);
  if (fs && !targetSchedules.some((s) => s.fileSystemBackup)) {
    warnings.push(`${sourceStack}'s backups hold the pods' volumes (file-system backup), but ${targetStack} runs no node agent: the volumes cannot be restored there. Use a fresh stack of the same environment.`);
  }
  const mapping = (namespaces: string[]) => namespaces.map((n) => `${n}:${n}-drill`).join(",");
  const steps: Step[] = [
    grant,
    ...(fs
      ? [
          {
            title: `The source's file-system backup repository password (${sourceStack}'s secret output), in place of the fresh stack's while the drill runs; its own Schedules paused meanwhile`,
            note: `\`pulumi up --stack ${targetStack}\` puts its own password back afterwards.`,
            commands: [
              ...targetSchedules.map((s) => velero("schedule pause", sh(s.name))),
              `DRILL_REPOSITORY_PASSWORD=$(pulumi stack output backupRepositoryPassword --show-secrets --stack ${sh(sourceStack)})`,
              kubectl("-n velero patch secret velero-repo-credentials --type merge -p", `"{\\"stringData\\":{\\"repository-password\\":\\"$DRILL_REPOSITORY_PASSWORD\\"}}"`),
              kubectl("-n velero rollout restart deployment/velero daemonset/node-agent"),
              kubectl("-n velero rollout status deployment/velero --timeout=300s"),
            ],
          },
        ]
      : []),
    {
      title: `A read-only backup location ${location} on ${sourceStack}'s bucket; wait until Velero has synced its backups`,
      commands: [
        velero(
          "backup-location create",
          sh(location),
          "--provider",
          source.provider,
          "--bucket",
          sh(source.bucket),
          "--prefix",
          sh(source.prefix),
          "--access-mode ReadOnly",
          "--config",
          sh(
            Object.entries(config)
              .map(([k, v]) => `${k}=${v}`)
              .join(","),
          ),
        ),
        `for i in $(seq 1 40); do ${velero("backup get --selector", sh(`velero.io/schedule-name=${sourceSchedules[0].name}`), "-o name")} | grep -q . && break; sleep 15; done`,
        velero("backup-location get", sh(location)),
        ...sourceSchedules.map((s) => velero("backup get --selector", sh(`velero.io/schedule-name=${s.name}`))),
      ],
    },
    ...sourceSchedules.map((s) => ({
      title: `Restore the newest backup of ${s.name} (${s.includedNamespaces.join(", ")}) into ${s.includedNamespaces.map((n) => `${n}-drill`).join(", ")}, beside the fresh stack's own namespaces`,
      note: "Existing objects are left alone (--existing-resource-policy none); a backup that only partly failed is still restored, and says so.",
      commands: [
        velero(
          "restore create",
          sh(`drill-${o.stamp}-${s.name.replace(`${sourceStack}-`, "")}`),
          "--from-schedule",
          sh(s.name),
          "--namespace-mappings",
          sh(mapping(s.includedNamespaces)),
          "--existing-resource-policy none --allow-partially-failed --wait",
        ),
        velero("restore describe", sh(`drill-${o.stamp}-${s.name.replace(`${sourceStack}-`, "")}`), "--details"),
        ...s.includedNamespaces.map((n) => kubectl("get all,configmaps,secrets,networkpolicies,persistentvolumeclaims -n", sh(`${n}-drill`))),
      ],
    })),
    {
      title: "Clean up: the restored namespaces, the restores, the backup location (its synced Backup objects go with it; the source's bucket is untouched), the fresh stack's Schedules",
      manual: true,
      commands: [
        kubectl("delete namespace", ...sourceSchedules.flatMap((s) => s.includedNamespaces.map((n) => sh(`${n}-drill`)))),
        ...sourceSchedules.map((s) => velero("restore delete", sh(`drill-${o.stamp}-${s.name.replace(`${sourceStack}-`, "")}`), "--confirm")),
        velero("backup-location delete", sh(location), "--confirm"),
        ...(fs ? [...targetSchedules.map((s) => velero("schedule unpause", sh(s.name))), cmd("pulumi up --stack", sh(targetStack))] : []),
      ],
    },
    revoke,
  ];
  return { title: `2. Cluster objects: Velero restore of ${sourceStack}'s Schedules into the fresh stack ${targetStack}`, steps };
}

function localSection(o: DrillOptions, db: Extract<Database, { kind: "in-cluster" }>, stack: string): Section {
  const k = `kubectl --context "$(pulumi stack output clusterName --stack ${sh(stack)})" -n ${sh(db.namespace)}`;
  const exec = (interactive: boolean, script: string) => `${k} exec ${interactive ? "-i " : ""}statefulset/${sh(db.statefulSet)} -c postgres -- sh -c ${sh(script)}`;
  return {
    title: `1. Databases of the local stack ${stack}: pg_dump and pg_restore (no point-in-time recovery, no Velero)`,
    steps: [
      { title: "The kubeconfig the stack uses (its output is the file's path)", commands: [`export KUBECONFIG=$(pulumi stack output kubeconfig --show-secrets --stack ${sh(stack)})`] },
      { title: "Dump each database of the in-cluster PostgreSQL", commands: DATABASES.map((d) => `${exec(false, `pg_dump --format=custom --username="$POSTGRES_USER" --dbname=${d}`)} > ${d}-${o.stamp}.dump`) },
      {
        title: "Restore them (into the same or a new local cluster, after `pulumi up`)",
        manual: true,
        commands: DATABASES.map((d) => `${exec(true, `pg_restore --clean --if-exists --no-owner --username="$POSTGRES_USER" --dbname=${d}`)} < ${d}-${o.stamp}.dump`),
      },
    ],
  };
}

function rpoRows(o: DrillOptions, cloud: DrillPlan["cloud"]): RpoRow[] {
  const db = o.source.recovery!.database;
  const schedules = o.source.backupSchedules ?? [];
  const every = (s: Schedule) => {
    const h = cronIntervalHours(s.schedule);
    return h ? `${h} h (${s.schedule})` : `the interval of "${s.schedule}"`;
  };
  const platform = schedules.find((s) => s.includedNamespaces.includes("mlops"));
  const monitoring = schedules.find((s) => s.includedNamespaces.includes("monitoring"));
  const logs = o.source.recovery!.logs;
  const pitr: Record<string, string> = {
    rds: "RDS point-in-time recovery (transaction logs uploaded every 5 minutes)",
    cloudsql: "Cloud SQL point-in-time recovery (write-ahead logs archived continuously)",
    "azure-flexible": "Flexible Server point-in-time restore (WAL archived at least every 5 minutes)",
  };
  const rows: RpoRow[] = [];
  if (db.kind === "in-cluster") {
    rows.push({ what: "MLflow's, the monitor's and the platform API's databases", backedUpBy: "nothing automatic: pg_dump when you run it", mayLose: "everything since the last dump" });
  } else {
    rows.push({
      what: "MLflow's registry and runs, the monitor's events, labels and actions, the platform API's users, audit log and batch jobs (PostgreSQL)",
      backedUpBy: `${pitr[db.kind]}, kept ${db.backupRetentionDays} days`,
      mayLose: "about 5 minutes before the failure (restore to the latest restorable time)",
    });
  }
  rows.push(
    platform
      ? { what: "Cluster objects of mlops (Deployments, Secrets, NetworkPolicies, what the program did not declare)", backedUpBy: `Velero Schedule ${platform.name}, kept ${platform.ttl}`, mayLose: `up to ${every(platform)}; what Pulumi declares is re-created by \`pulumi up\` anyway` }
      : { what: "Cluster objects", backedUpBy: "nothing (no Velero on this target)", mayLose: "every object `pulumi up` does not re-create" },
  );
  rows.push(
    monitoring?.fileSystemBackup
      ? { what: "Prometheus' TSDB and Alertmanager's silences (their volumes)", backedUpBy: `Velero file-system backup, Schedule ${monitoring.name}`, mayLose: `up to ${every(monitoring)} of metrics and silences; a copy taken while Prometheus writes is crash-consistent (its WAL replays)` }
      : {
          what: "Prometheus' TSDB and Alertmanager's silences (their volumes)",
          backedUpBy: cloud === "local" ? "nothing (no Velero on this target)" : "not backed up on this environment (objects only)",
          mayLose: "all metric history and silences: Prometheus starts empty, alerts re-evaluate from new samples",
        },
  );
  rows.push({ what: "The drift detectors' windows (in memory)", backedUpBy: "nothing: by design", mayLose: "the current windows; they refill from new traffic (windowRows events) and drift is evaluated again" });
  rows.push({ what: "MLflow's artifacts (models)", backedUpBy: cloud === "local" ? "the artifact volume (nothing)" : "the versioned artifact bucket (outside the cluster)", mayLose: cloud === "local" ? "everything with the volume" : "nothing: a deleted or overwritten artifact is a noncurrent version for the profile's days" });
  rows.push({
    what: "Container logs",
    backedUpBy: logs.kind === "stdout" ? "stdout only (kubectl logs)" : `${logs.destination}${logs.retentionDays ? `, kept ${logs.retentionDays} days` : ""}`,
    mayLose: logs.kind === "stdout" ? "everything with the node" : "the last seconds the agent had not sent",
  });
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Output and execution

export function renderPlan(plan: DrillPlan, dryRun: boolean): string {
  const lines: string[] = [];
  lines.push(`# Restore drill: ${plan.sourceStack}${plan.targetStack ? ` -> ${plan.targetStack}` : ""} (${plan.cloud})`);
  lines.push(dryRun ? "# DRY RUN: nothing below has been run. Each command is exact for these stack outputs." : "# EXECUTE: the steps not marked [manual] run in one bash, in order, stopping at the first failure.");
  for (const w of plan.warnings) lines.push(`# warning: ${w}`);
  for (const section of plan.sections) {
    lines.push("", `## ${section.title}`);
    section.steps.forEach((step, i) => {
      lines.push("", `# ${i + 1}. ${step.title}${step.manual ? " [manual]" : ""}`);
      if (step.note) lines.push(`#    ${step.note}`);
      lines.push(...step.commands);
    });
  }
  lines.push("", "## What a restore may lose (the RPO), per part of the platform", "");
  const width = [Math.max(4, ...plan.rpo.map((r) => r.what.length)), Math.max(14, ...plan.rpo.map((r) => r.backedUpBy.length))];
  lines.push(`# ${"what".padEnd(width[0])} | ${"kept by".padEnd(width[1])} | may lose`);
  for (const r of plan.rpo) lines.push(`# ${r.what.padEnd(width[0])} | ${r.backedUpBy.padEnd(width[1])} | ${r.mayLose}`);
  return `${lines.join("\n")}\n`;
}

/** The non-manual steps as one bash script (variables set in one step are seen by the next). */
export function executableScript(plan: DrillPlan): string {
  const parts = ["set -euo pipefail"];
  for (const section of plan.sections) {
    for (const step of section.steps.filter((s) => !s.manual)) parts.push(`echo ${sh(`==> ${step.title}`)}`, ...step.commands);
  }
  return parts.join("\n");
}

interface Cli {
  source: string;
  target?: string;
  sourceStack?: string;
  targetStack?: string;
  restoreTime?: string;
  stamp?: string;
  mode?: "dry-run" | "execute";
}

const USAGE = "usage: restore-drill.ts --source <outputs.json | -> [--target <outputs.json>] [--restore-time <UTC ISO 8601>] [--stamp <suffix>] [--source-stack <name>] [--target-stack <name>] (--dry-run | --execute)";

export function parseArgs(argv: string[]): Cli {
  const cli: Partial<Cli> = {};
  const value = (i: number, flag: string) => {
    const v = argv[i + 1];
    if (v === undefined || (v.startsWith("--") && v !== "-")) throw new DrillError(`${flag} needs a value\n${USAGE}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const flags: Record<string, keyof Cli> = { "--source": "source", "--target": "target", "--source-stack": "sourceStack", "--target-stack": "targetStack", "--restore-time": "restoreTime", "--stamp": "stamp" };
    if (a in flags) {
      (cli as Record<string, string>)[flags[a]] = value(i, a);
      i++;
    } else if (a === "--dry-run" || a === "--execute") {
      if (cli.mode) throw new DrillError(`choose one of --dry-run and --execute\n${USAGE}`);
      cli.mode = a === "--dry-run" ? "dry-run" : "execute";
    } else {
      throw new DrillError(`unknown argument ${a}\n${USAGE}`);
    }
  }
  if (!cli.source) throw new DrillError(`--source is required\n${USAGE}`);
  if (!cli.mode) throw new DrillError(`say --dry-run (print the commands) or --execute (run them)\n${USAGE}`);
  return cli as Cli;
}

function readOutputs(file: string, stdin: () => string): StackOutputs {
  const text = file === "-" ? stdin() : readFileSync(file, "utf8");
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
    return parsed as StackOutputs;
  } catch (err) {
    throw new DrillError(`${file === "-" ? "stdin" : file} is not the JSON of \`pulumi stack output --json\`: ${(err as Error).message}`);
  }
}

export function main(argv: string[], io = { stdin: () => readFileSync(0, "utf8"), out: (s: string) => process.stdout.write(s), err: (s: string) => process.stderr.write(s) }): number {
  try {
    const cli = parseArgs(argv);
    if (cli.target === "-" && cli.source === "-") throw new DrillError("only one of --source and --target can be read from stdin");
    const plan = drillPlan({
      source: readOutputs(cli.source, io.stdin),
      target: cli.target ? readOutputs(cli.target, io.stdin) : undefined,
      sourceStack: cli.sourceStack,
      targetStack: cli.targetStack,
      restoreTime: cli.restoreTime,
      stamp: cli.stamp ?? defaultStamp(),
    });
    io.out(renderPlan(plan, cli.mode === "dry-run"));
    if (cli.mode === "dry-run") return 0;
    const run = spawnSync("bash", ["-c", executableScript(plan)], { stdio: "inherit" });
    return run.status ?? 1;
  } catch (err) {
    if (!(err instanceof DrillError)) throw err;
    io.err(`restore-drill: ${err.message}\n`);
    return 2;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
