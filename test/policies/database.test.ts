import { databaseRules } from "../../policies/rules/database";
import { databaseBackupRetention } from "../../policies/rules/database/backup-retention";
import { databaseDeletionProtection } from "../../policies/rules/database/deletion-protection";
import { databaseEncrypted } from "../../policies/rules/database/encrypted";
import { databaseHighAvailability } from "../../policies/rules/database/high-availability";
import { databaseNotPublic } from "../../policies/rules/database/not-public";
import { databaseTlsRequired } from "../../policies/rules/database/tls-required";
import type { DeclaredResource } from "../../scripts/plan/harness";
import { check, dependsOn, messages, resource, UNKNOWN } from "../helpers/policy-engine";
import { runCases, type RuleCase } from "./support/cases";

const RDS = "aws:rds/instance:Instance";
const CLOUD_SQL = "gcp:sql/databaseInstance:DatabaseInstance";
const AZURE_PG = "azure-native:dbforpostgresql:Server";

/** An RDS PostgreSQL instance as the AWS foundation declares it in prod; `changes` breaks one thing. */
function rds(changes: Record<string, any> = {}, extra: Partial<DeclaredResource> = {}): DeclaredResource {
  return resource(
    RDS,
    {
      engine: "postgres",
      engineVersion: "16",
      storageEncrypted: true,
      kmsKeyId: "arn:aws:kms:us-west-2:123456789012:key/db",
      publiclyAccessible: false,
      multiAz: true,
      backupRetentionPeriod: 14,
      deletionProtection: true,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: "db-final",
      ...changes,
    },
    { name: "db", protect: true, ...extra },
  );
}

function withParameterGroup(parameters: { name: string; value: string }[], dbChanges: Record<string, any> = {}): DeclaredResource[] {
  const group = resource("aws:rds/parameterGroup:ParameterGroup", { family: "postgres16", parameters }, { name: "db-params", state: { family: "postgres16", parameters, name: "db-params-7c1e" } });
  return [group, dependsOn(rds({ parameterGroupName: "db-params-7c1e", ...dbChanges }), "parameterGroupName", group)];
}

const cloudSql = (settings: Record<string, any>, extra: Record<string, any> = {}) =>
  resource(CLOUD_SQL, { databaseVersion: "POSTGRES_16", deletionProtection: true, settings: { tier: "db-custom-2-7680", ...settings }, ...extra }, { name: "sql", protect: true });
const azurePg = (inputs: Record<string, any>, extra: Partial<DeclaredResource> = {}) =>
  resource(AZURE_PG, { version: "16", network: { publicNetworkAccess: "Disabled" }, ...inputs }, { name: "pg", ...extra });

const cases: RuleCase[] = [
  {
    rule: databaseNotPublic,
    mistake: "an RDS instance made publicly accessible",
    bad: () => [rds({ publiclyAccessible: true })],
    expected: /RDS instance "db" is publicly accessible/,
    good: () => [rds()],
  },
  {
    rule: databaseNotPublic,
    mistake: "a Cloud SQL instance with a public IP authorizing 0.0.0.0/0",
    bad: () => [cloudSql({ ipConfiguration: { ipv4Enabled: true, authorizedNetworks: [{ name: "all", value: "0.0.0.0/0" }] } })],
    expected: /authorizes 0.0.0.0\/0: the whole internet/,
    good: () => [cloudSql({ ipConfiguration: { ipv4Enabled: false, privateNetwork: "projects/p/global/networks/vpc" } })],
  },
  {
    rule: databaseNotPublic,
    mistake: "an Azure flexible server with public access and an \"allow Azure services\" firewall rule",
    bad: () => [azurePg({ network: { publicNetworkAccess: "Enabled" } }), resource("azure-native:dbforpostgresql:FirewallRule", { startIpAddress: "0.0.0.0", endIpAddress: "0.0.0.0" }, { name: "azure" })],
    expected: /accepts connections from public networks[\s\S]*admits every Azure service/,
    good: () => [azurePg({ network: { delegatedSubnetResourceId: "/subscriptions/s/.../subnets/db" } })],
  },
  {
    rule: databaseEncrypted,
    mistake: "an unencrypted RDS instance",
    bad: () => [rds({ storageEncrypted: false, kmsKeyId: undefined })],
    expected: /RDS instance "db" is not encrypted/,
    good: () => [rds({ kmsKeyId: UNKNOWN })],
  },
  {
    rule: databaseEncrypted,
    mistake: "RDS on the AWS-managed key and Cloud SQL without CMEK",
    bad: () => [rds({ kmsKeyId: undefined }), cloudSql({})],
    expected: /uses the AWS-managed key aws\/rds[\s\S]*uses Google-managed keys/,
    good: () => [cloudSql({}, { encryptionKeyName: "projects/p/locations/eu/keyRings/r/cryptoKeys/sql" }), azurePg({ dataEncryption: { type: "AzureKeyVault", primaryKeyURI: "https://kv/keys/pg" } })],
  },
  {
    rule: databaseTlsRequired,
    mistake: "a parameter group that turns rds.force_ssl off",
    bad: () => withParameterGroup([{ name: "rds.force_ssl", value: "0" }]),
    expected: /accepts unencrypted connections: parameter group "db-params" sets rds.force_ssl = 0/,
    good: () => withParameterGroup([{ name: "rds.force_ssl", value: "1" }]),
  },
  {
    rule: databaseTlsRequired,
    mistake: "PostgreSQL 14 on its default parameter group (TLS optional before version 15)",
    bad: () => [rds({ engineVersion: "14.12", parameterGroupName: "default.postgres14" })],
    expected: /the default parameter group leaves rds.force_ssl at its default \(off for postgres 14\)/,
    good: () => [rds({ engineVersion: "16.4", parameterGroupName: "default.postgres16" })],
  },
  {
    rule: databaseTlsRequired,
    mistake: "Cloud SQL accepting unencrypted connections and Azure with require_secure_transport off",
    bad: () => {
      const pg = azurePg({});
      return [cloudSql({ ipConfiguration: { ipv4Enabled: false } }), pg, dependsOn(resource("azure-native:dbforpostgresql:Configuration", { serverName: "pg", configurationName: "require_secure_transport", value: "off", source: "user-override" }), "serverName", pg)];
    },
    expected: /accepts unencrypted connections \(sslMode ALLOW_UNENCRYPTED_AND_ENCRYPTED\)[\s\S]*turns require_secure_transport off/,
    good: () => [cloudSql({ ipConfiguration: { ipv4Enabled: false, sslMode: "ENCRYPTED_ONLY" } }), azurePg({})],
  },
  {
    rule: databaseBackupRetention,
    mistake: "an RDS instance without backups (backupRetentionPeriod 0)",
    bad: () => [rds({ backupRetentionPeriod: 0 })],
    expected: /RDS instance "db" has no automated backups/,
    good: () => [rds({ backupRetentionPeriod: 14 })],
    params: { minimumDays: 14 },
  },
  {
    rule: databaseBackupRetention,
    mistake: "a production database keeping a week of backups where 14 days are required",
    bad: () => [rds({ backupRetentionPeriod: 7 }), cloudSql({ backupConfiguration: { enabled: true } }), azurePg({})],
    expected: /keeps backups 7 day\(s\) \(backupRetentionPeriod 7\); at least 14 required[\s\S]*retainedBackups unset, default 7[\s\S]*backupRetentionDays unset, default 7/,
    good: () => [cloudSql({ backupConfiguration: { enabled: true, backupRetentionSettings: { retainedBackups: 14, retentionUnit: "COUNT" } } }), azurePg({ backup: { backupRetentionDays: 14 } })],
    params: { minimumDays: 14 },
  },
  {
    rule: databaseHighAvailability,
    mistake: "a single-AZ production database",
    bad: () => [rds({ multiAz: false }), cloudSql({ availabilityType: "ZONAL" }), azurePg({ highAvailability: { mode: "SameZone" } })],
    expected: /runs in one availability zone[\s\S]*is zonal[\s\S]*highAvailability.mode SameZone/,
    good: () => [rds(), cloudSql({ availabilityType: "REGIONAL" }), azurePg({ highAvailability: { mode: "ZoneRedundant" } })],
  },
  {
    rule: databaseDeletionProtection,
    mistake: "a production database deletable without a final snapshot and unprotected in Pulumi",
    bad: () => [rds({ deletionProtection: false, skipFinalSnapshot: true }, { protect: false })],
    expected: /can be deleted through the API[\s\S]*skips its final snapshot[\s\S]*not protected in Pulumi/,
    good: () => [rds(), cloudSql({ deletionProtectionEnabled: true })],
  },
  {
    rule: databaseDeletionProtection,
    mistake: "an Azure flexible server with neither a lock nor protect",
    bad: () => [azurePg({})],
    expected: /has neither a CanNotDelete lock nor protect: true/,
    good: () => {
      const pg = azurePg({}, { protect: true });
      return [pg, dependsOn(resource("azure-native:authorization:ManagementLockAtResourceLevel", { level: "CanNotDelete", resourceName: "pg" }), "resourceName", pg)];
    },
  },
];

runCases("database", databaseRules, cases);

test("an RDS instance on a parameter group declared outside the stack cannot be verified and is reported", async () => {
  expect(messages(await check(databaseTlsRequired, [rds({ parameterGroupName: "shared-postgres16" })]))).toEqual([
    expect.stringContaining('uses parameter group "shared-postgres16", which this stack does not declare'),
  ]);
});

test("requirePulumiProtect false leaves the protect option to the team", async () => {
  expect(await check(databaseDeletionProtection, [rds({}, { protect: false })], { requirePulumiProtect: false })).toEqual([]);
});

test("Cloud SQL enforces TLS through sslMode only: a requireSsl field (not in @pulumi/gcp 9.x) changes nothing", async () => {
  const legacy = cloudSql({ ipConfiguration: { ipv4Enabled: false, requireSsl: true } });
  expect(messages(await check(databaseTlsRequired, [legacy]))).toEqual([expect.stringContaining("accepts unencrypted connections (sslMode ALLOW_UNENCRYPTED_AND_ENCRYPTED)")]);
  const mtls = cloudSql({ ipConfiguration: { ipv4Enabled: false, sslMode: "TRUSTED_CLIENT_CERTIFICATE_REQUIRED" } });
  expect(messages(await check(databaseTlsRequired, [mtls]))).toEqual([]);
});
