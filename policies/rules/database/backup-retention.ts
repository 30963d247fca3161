import * as aws from "@pulumi/aws";
import { validateResourceOfType } from "@pulumi/policy";
import { resourceRule } from "../support/define";
import { platform } from "../support/frameworks";
import { azure, gcp } from "../support/types";

interface Params {
  minimumDays: number;
}

function check(label: string, days: number, detail: string, minimumDays: number, report: (m: string) => void): void {
  if (days === 0) report(`${label} has no automated backups (${detail}): a failed migration or a dropped table would be unrecoverable; keep at least ${minimumDays} day(s)`);
  else if (days < minimumDays) report(`${label} keeps backups ${days} day(s) (${detail}); at least ${minimumDays} required`);
}

export const databaseBackupRetention = resourceRule(
  {
    name: "database-backup-retention",
    description:
      "Automated backups are on and kept at least minimumDays days (1 in development, 14 in production), so the registry and the monitoring history survive a bad migration or a deleted table. RDS backupRetentionPeriod, Cloud SQL daily backups retained (backupRetentionSettings), Azure backup.backupRetentionDays.",
    severity: "high",
    framework: platform("Backups and point-in-time recovery for managed databases"),
    clouds: ["aws", "gcp", "azure"],
    enforcementLevel: "mandatory",
    configSchema: { properties: { minimumDays: { type: "integer", minimum: 1, maximum: 35, default: 7 } } },
    remediationSteps:
      "AWS: backupRetentionPeriod >= the minimum (0 disables backups). GCP: settings.backupConfiguration.enabled true with backupRetentionSettings.retainedBackups >= the minimum (daily backups). Azure: backup.backupRetentionDays >= the minimum.",
  },
  [
    validateResourceOfType(aws.rds.Instance, (db, args, report) => {
      // RDS keeps 1 day when backupRetentionPeriod is left unset.
      const days = db.backupRetentionPeriod ?? 1;
      check(`RDS instance "${args.name}"`, days, `backupRetentionPeriod ${db.backupRetentionPeriod ?? "unset, RDS default 1"}`, args.getConfig<Params>().minimumDays, report);
    }),
    validateResourceOfType(aws.rds.Cluster, (db, args, report) => {
      const days = db.backupRetentionPeriod ?? 1;
      check(`Aurora cluster "${args.name}"`, days, `backupRetentionPeriod ${db.backupRetentionPeriod ?? "unset, default 1"}`, args.getConfig<Params>().minimumDays, report);
    }),
    validateResourceOfType(gcp.sqlInstance, (db, args, report) => {
      const backup = db.settings?.backupConfiguration ?? {};
      const retention = backup.backupRetentionSettings ?? {};
      // One backup a day: a count of retained backups is a number of days.
      const days = backup.enabled === true ? (retention.retentionUnit ?? "COUNT") === "COUNT" ? (retention.retainedBackups ?? 7) : 0 : 0;
      check(`Cloud SQL instance "${args.name}"`, days, backup.enabled === true ? `retainedBackups ${retention.retainedBackups ?? "unset, default 7"}` : "backupConfiguration.enabled is not true", args.getConfig<Params>().minimumDays, report);
    }),
    validateResourceOfType(azure.postgresServer, (db, args, report) => {
      const days = db.backup?.backupRetentionDays ?? 7;
      check(`PostgreSQL flexible server "${args.name}"`, days, `backupRetentionDays ${db.backup?.backupRetentionDays ?? "unset, default 7"}`, args.getConfig<Params>().minimumDays, report);
    }),
  ],
);
