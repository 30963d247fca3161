import { ManagementLockAtResourceLevel } from "@pulumi/azure-native/authorization/managementLockAtResourceLevel";
import { Configuration } from "@pulumi/azure-native/dbforpostgresql/configuration";
import { Database as PostgresDatabase } from "@pulumi/azure-native/dbforpostgresql/database";
import { Server } from "@pulumi/azure-native/dbforpostgresql/server";
import { UserAssignedIdentity } from "@pulumi/azure-native/managedidentity/userAssignedIdentity";
import * as pulumi from "@pulumi/pulumi";
import type { DatabaseEndpoint, Tags } from "../contracts";
import { generatedDatabasePassword } from "../shared/database-password";
import { grant } from "./roles";

export const POSTGRES_PORT = 5432;
export const ADMIN_USERNAME = "mlops_admin";
export const DATABASE_NAME = "mlflow";
/** Server parameters set on every server: TLS required, TLS 1.2 at least. */
export const TLS_SETTINGS: Record<string, string> = { require_secure_transport: "on", ssl_min_protocol_version: "TLSv1.2" };
/** The flexible server API version the management lock names (the resource type's, not the SDK's). */
const FLEXIBLE_SERVER_API_VERSION = "2024-08-01";

/** A customer-managed key for the server's data (and, with geo-redundant backup, one in the paired region for the backups). */
export interface DatabaseKey {
  keyUri: pulumi.Input<string>;
  keyResourceId: pulumi.Input<string>;
  location: string;
}

export interface DatabaseArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  subscriptionId: pulumi.Input<string>;
  /**
   * PostgreSQL major version. A bump is an in-place major version upgrade (MVU), not a replacement:
   * `version` is an updatable property of the flexible server API (2025-08-01) and the SDK declares no
   * replaceOnChanges for it. The service takes the server offline for the upgrade and it cannot be
   * undone; check the plan shows `~ version` (update), not `+-` (replace), and see the README for
   * what an upgrade requires.
   */
  postgresVersion: "15" | "16" | "17";
  skuName: string;
  skuTier: "Burstable" | "GeneralPurpose" | "MemoryOptimized";
  storageGb: number;
  backupRetentionDays: number;
  /** Backups copied to the paired region. Fixed at creation: Azure cannot turn it on or off later. */
  geoRedundantBackup: boolean;
  /** A synchronous standby in another zone (not available on Burstable). */
  zoneRedundantHa: boolean;
  /** `protect` in Pulumi plus a CanNotDelete management lock in Azure. */
  deletionProtection: boolean;
  delegatedSubnetId: pulumi.Input<string>;
  privateDnsZoneId: pulumi.Input<string>;
  /** The private DNS zone's VNet link: the server is created only once its name resolves in the VNet. */
  dependsOn: pulumi.Resource[];
  /** Customer-managed keys (Key Vault); unset: Microsoft-managed keys. */
  encryption?: { primary: DatabaseKey; geoBackup?: DatabaseKey };
  tags: Tags;
}

/** PostgreSQL Flexible Server for MLflow: VNet-integrated (no public access), TLS 1.2+ only, backed up. */
export class Database extends pulumi.ComponentResource {
  readonly endpoint: DatabaseEndpoint;
  readonly server: Server;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    if (args.zoneRedundantHa && args.skuTier === "Burstable") throw new Error("zone-redundant high availability needs a GeneralPurpose or MemoryOptimized SKU, not Burstable");
    if (args.encryption && args.geoRedundantBackup && !args.encryption.geoBackup) {
      throw new Error("geo-redundant backups with a customer-managed key need a second key (and identity) in the paired region: set encryption.geoBackup");
    }
    super("mlops:azure:Database", name, {}, opts);
    const parent = { parent: this };
    const base = { resourceGroupName: args.resourceGroupName, location: args.location };
    const password = generatedDatabasePassword(`${name}-admin-password`, this);
    const encryption = args.encryption ? this.encryptionIdentities(name, args, args.encryption) : undefined;

    this.server = new Server(
      `${name}-postgres`,
      {
        ...base,
        version: args.postgresVersion,
        sku: { name: args.skuName, tier: args.skuTier },
        administratorLogin: ADMIN_USERNAME,
        administratorLoginPassword: pulumi.secret(password.result),
        authConfig: { passwordAuth: "Enabled", activeDirectoryAuth: "Disabled" },
        storage: { storageSizeGB: args.storageGb, autoGrow: "Enabled" },
        backup: { backupRetentionDays: args.backupRetentionDays, geoRedundantBackup: args.geoRedundantBackup ? "Enabled" : "Disabled" },
        highAvailability: { mode: args.zoneRedundantHa ? "ZoneRedundant" : "Disabled" },
        network: {
          delegatedSubnetResourceId: args.delegatedSubnetId,
          privateDnsZoneArmResourceId: args.privateDnsZoneId,
          publicNetworkAccess: "Disabled",
        },
        identity: encryption?.identity,
        dataEncryption: encryption?.dataEncryption,
        tags: args.tags,
      },
      {
        parent: this,
        protect: args.deletionProtection,
        dependsOn: [...args.dependsOn, ...(encryption?.grants ?? [])],
      },
    );

    // Server parameters one at a time: the service refuses concurrent configuration changes on one server.
    let previous: pulumi.Resource = this.server;
    for (const [setting, value] of Object.entries(TLS_SETTINGS)) {
      previous = new Configuration(
        `${name}-${setting.replace(/_/g, "-")}`,
        { resourceGroupName: args.resourceGroupName, serverName: this.server.name, configurationName: setting, value, source: "user-override" },
        { parent: this, dependsOn: [previous] },
      );
    }
    const database = new PostgresDatabase(
      `${name}-${DATABASE_NAME}`,
      { resourceGroupName: args.resourceGroupName, serverName: this.server.name, databaseName: DATABASE_NAME, charset: "UTF8", collation: "en_US.utf8" },
      { parent: this, dependsOn: [previous], protect: args.deletionProtection },
    );

    if (args.deletionProtection) {
      new ManagementLockAtResourceLevel(
        `${name}-no-delete`,
        {
          resourceGroupName: args.resourceGroupName,
          resourceProviderNamespace: "Microsoft.DBforPostgreSQL",
          parentResourcePath: "",
          resourceType: "flexibleServers",
          resourceName: this.server.name,
          apiVersion: FLEXIBLE_SERVER_API_VERSION,
          lockName: "mlops-no-delete",
          level: "CanNotDelete",
          notes: "The MLflow registry's database: remove this lock deliberately before deleting the server.",
        },
        { parent: this, dependsOn: [database] },
      );
    }

    this.endpoint = {
      host: this.server.fullyQualifiedDomainName,
      port: pulumi.output(POSTGRES_PORT),
      username: pulumi.output(ADMIN_USERNAME),
      password: pulumi.secret(password.result),
      sslMode: "require",
    };
    this.registerOutputs({ host: this.endpoint.host });
  }

  /** User-assigned identities allowed to wrap/unwrap with the key (one per region: geo-backup keys live in the paired region). */
  private encryptionIdentities(name: string, args: DatabaseArgs, keys: NonNullable<DatabaseArgs["encryption"]>) {
    const identityFor = (suffix: string, key: DatabaseKey) => {
      const identity = new UserAssignedIdentity(`${name}-${suffix}-identity`, { resourceGroupName: args.resourceGroupName, location: key.location, tags: args.tags }, { parent: this });
      const role = grant(
        `${name}-${suffix}-key-user`,
        { subscriptionId: args.subscriptionId, principalId: identity.principalId, principalType: "ServicePrincipal", role: "keyVaultCryptoServiceEncryptionUser", scope: key.keyResourceId },
        { parent: this },
      );
      return { identity, role };
    };
    const primary = identityFor("cmk", keys.primary);
    const geo = keys.geoBackup ? identityFor("geo-cmk", keys.geoBackup) : undefined;
    const identities = [primary.identity, ...(geo ? [geo.identity] : [])];
    return {
      identity: {
        type: "UserAssigned",
        userAssignedIdentities: pulumi.all(identities.map((i) => i.id)).apply((ids) => Object.fromEntries(ids.map((id) => [id, {}]))),
      },
      dataEncryption: {
        type: "AzureKeyVault",
        // A versionless key URI: the server follows the key's automatic rotation.
        primaryKeyURI: keys.primary.keyUri,
        primaryUserAssignedIdentityId: primary.identity.id,
        geoBackupKeyURI: keys.geoBackup?.keyUri,
        geoBackupUserAssignedIdentityId: geo?.identity.id,
      },
      grants: [primary.role, ...(geo ? [geo.role] : [])],
    };
  }
}
