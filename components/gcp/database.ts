import * as projects from "@pulumi/gcp/projects";
import * as sql from "@pulumi/gcp/sql";
import * as pulumi from "@pulumi/pulumi";
import type { DatabaseEndpoint } from "../contracts";
import { generatedDatabasePassword } from "../shared/database-password";

export const POSTGRES_PORT = 5432;
export const ADMIN_USERNAME = "mlops_admin";
export const DATABASE_NAME = "mlflow";
export type PostgresVersion = "15" | "16" | "17";

/**
 * Flags a reviewed PostgreSQL server sets (CIS GCP 6.2): connections, disconnections, lock waits,
 * checkpoints, temporary files and DDL are logged; errors log their statement; statement durations are not
 * (they would log query text with parameters). Every flag exists in PostgreSQL 15 to 17, so a
 * major-version upgrade keeps them.
 */
export const DATABASE_FLAGS: Record<string, string> = {
  log_connections: "on",
  log_disconnections: "on",
  log_checkpoints: "on",
  log_lock_waits: "on",
  log_temp_files: "0",
  log_statement: "ddl",
  log_min_error_statement: "error",
  log_min_duration_statement: "-1",
};

export interface DatabaseArgs {
  project: string;
  region: string;
  /** Major version; raising it is an in-place major upgrade (see below), never a replacement. */
  postgresVersion: PostgresVersion;
  /** Machine tier, e.g. db-custom-2-7680 (Enterprise edition). */
  tier: string;
  edition: "ENTERPRISE" | "ENTERPRISE_PLUS";
  diskSizeGb: number;
  /** Upper bound of disk autoresize in GB (0: no bound). */
  diskAutoresizeLimitGb: number;
  /** REGIONAL (standby in another zone, automatic failover) instead of ZONAL. */
  highAvailability: boolean;
  /** Daily backups kept. */
  backupRetentionDays: number;
  /** Write-ahead logs kept for point-in-time recovery: as many days as backups, up to the edition's limit (7, or 35 on Enterprise Plus). */
  pointInTimeRecovery: boolean;
  /** Cloud SQL's deletion protection (API and provider), and Pulumi's `protect`. */
  deletionProtection: boolean;
  /** The VPC whose Private Service Access range gives the instance its only (private) address. */
  network: pulumi.Input<string>;
  /** The servicenetworking connection: the instance cannot get a private IP before it exists. */
  privateServicesConnection: pulumi.Resource;
  /** Customer-managed key of the instance's disks and backups; none: Google-managed keys. Set at creation only. */
  encryptionKey?: pulumi.Input<string>;
  labels: Record<string, string>;
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** Cloud SQL for PostgreSQL for MLflow and the monitor: private IP only, TLS only, backed up with point-in-time recovery. */
export class Database extends pulumi.ComponentResource {
  readonly instance: sql.DatabaseInstance;
  readonly endpoint: DatabaseEndpoint;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:gcp:Database", name, {}, opts);
    const parent = { parent: this };

    this.instance = new sql.DatabaseInstance(
      `${name}-postgres`,
      {
        project: args.project,
        region: args.region,
        // Cloud SQL upgrades the major version in place when this changes (it takes a backup first);
        // the name is Pulumi's auto-name and every other input is version-independent, so nothing here
        // forces a replacement. Extensions may need `ALTER EXTENSION ... UPDATE` afterwards.
        databaseVersion: `POSTGRES_${args.postgresVersion}`,
        encryptionKeyName: args.encryptionKey,
        deletionProtection: args.deletionProtection,
        settings: {
          tier: args.tier,
          edition: args.edition,
          availabilityType: args.highAvailability ? "REGIONAL" : "ZONAL",
          diskType: "PD_SSD",
          diskSize: args.diskSizeGb,
          diskAutoresize: true,
          diskAutoresizeLimit: args.diskAutoresizeLimitGb,
          deletionProtectionEnabled: args.deletionProtection,
          ipConfiguration: {
            ipv4Enabled: false,
            privateNetwork: args.network,
            // TLS on every connection; clients authenticate with passwords, not client certificates.
            sslMode: "ENCRYPTED_ONLY",
            authorizedNetworks: [],
          },
          backupConfiguration: {
            enabled: true,
            startTime: "03:00",
            pointInTimeRecoveryEnabled: args.pointInTimeRecovery,
            transactionLogRetentionDays: args.pointInTimeRecovery ? transactionLogRetentionDays(args) : undefined,
            backupRetentionSettings: { retainedBackups: args.backupRetentionDays, retentionUnit: "COUNT" },
          },
          maintenanceWindow: { day: 7, hour: 4, updateTrack: "stable" },
          insightsConfig: { queryInsightsEnabled: true, recordApplicationTags: false, recordClientAddress: false },
          // The generated password is 40 letters and digits (URI-safe), so no character-class complexity rule.
          passwordValidationPolicy: { enablePasswordPolicy: true, minLength: 32, disallowUsernameSubstring: true },
          databaseFlags: Object.entries(DATABASE_FLAGS).map(([flag, value]) => ({ name: flag, value })),
          userLabels: args.labels,
        },
      },
      { parent: this, protect: args.deletionProtection, dependsOn: [args.privateServicesConnection, ...(args.dependsOn ?? [])] },
    );

    const password = generatedDatabasePassword(`${name}-admin-password`, this);
    const user = new sql.User(
      `${name}-admin`,
      {
        project: args.project,
        instance: this.instance.name,
        name: ADMIN_USERNAME,
        password: password.result,
        // PostgreSQL refuses to drop a role that owns objects; the instance's deletion removes it anyway.
        deletionPolicy: "ABANDON",
      },
      parent,
    );
    const database = new sql.Database(`${name}-mlflow`, { project: args.project, instance: this.instance.name, name: DATABASE_NAME, deletionPolicy: "ABANDON" }, parent);

    this.endpoint = {
      // Handed out once the user and database exist, so MLflow never connects to a server without them.
      host: pulumi.all([this.instance.privateIpAddress, user.urn, database.urn]).apply(([ip]) => ip),
      port: pulumi.output(POSTGRES_PORT),
      username: pulumi.output(ADMIN_USERNAME),
      password: pulumi.secret(password.result),
      sslMode: "require",
    };
    this.registerOutputs({ privateIp: this.instance.privateIpAddress, connectionName: this.instance.connectionName });
  }
}

export function transactionLogRetentionDays(args: Pick<DatabaseArgs, "backupRetentionDays" | "edition">): number {
  return Math.max(1, Math.min(args.backupRetentionDays, args.edition === "ENTERPRISE_PLUS" ? 35 : 7));
}

/** The Cloud SQL service agent, created if missing: it must hold the instance's CMEK key before the instance exists. */
export function cloudSqlServiceAgent(name: string, project: string, opts: pulumi.CustomResourceOptions): projects.ServiceIdentity {
  return new projects.ServiceIdentity(name, { project, service: "sqladmin.googleapis.com" }, opts);
}
