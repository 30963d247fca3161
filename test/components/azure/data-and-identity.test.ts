/**
 * The PostgreSQL flexible server, the artifact storage account, MLflow's workload identity, the
 * container registry and the customer-managed keys, as declared for dev-like and prod-like arguments.
 */
import { readFileSync } from "node:fs";
import { lifecycleRules } from "../../../components/azure/artifact-store";
import { TLS_SETTINGS } from "../../../components/azure/database";
import { ROLES } from "../../../components/azure/roles";
import { storageAccountName } from "../../../components/azure/naming";
import { devArgs, idOf, ofType, one, planAzure, prodArgs, referenced, T, type AzurePlan } from "./support";

let dev: AzurePlan;
let prod: AzurePlan;

beforeAll(async () => {
  dev = await planAzure(devArgs());
  prod = await planAzure(prodArgs());
});

const roleOf = (r: { inputs: Record<string, any> }) => String(r.inputs.roleDefinitionId).split("/").pop();

describe("PostgreSQL flexible server", () => {
  test("inside the delegated subnet with the private DNS zone, public access disabled, after the zone's VNet link", () => {
    for (const p of [dev, prod]) {
      const server = one(p, T.server);
      expect(server.inputs.network).toEqual({
        delegatedSubnetResourceId: idOf(one(p, T.subnet, "-database")),
        privateDnsZoneArmResourceId: idOf(one(p, T.dnsZone)),
        publicNetworkAccess: "Disabled",
      });
      expect(server.dependencies).toContain(one(p, T.dnsLink).urn);
    }
  });

  test("TLS required and at least TLS 1.2, set one after the other", () => {
    const configs = ofType(prod, T.pgConfig);
    expect(Object.fromEntries(configs.map((c) => [c.inputs.configurationName, c.inputs.value]))).toEqual(TLS_SETTINGS);
    expect(TLS_SETTINGS).toEqual({ require_secure_transport: "on", ssl_min_protocol_version: "TLSv1.2" });
    for (const c of configs) {
      expect(referenced(prod, c, "serverName")).toEqual([one(prod, T.server)]);
      expect(c.inputs.source).toBe("user-override");
    }
    expect(configs[1].dependencies).toContain(configs[0].urn);
  });

  test("version, SKU, storage with autogrow, admin login, the mlflow database", () => {
    const server = one(prod, T.server).inputs;
    expect(server).toMatchObject({
      version: "16",
      sku: { name: "Standard_D4ds_v5", tier: "GeneralPurpose" },
      storage: { storageSizeGB: 128, autoGrow: "Enabled" },
      administratorLogin: "mlops_admin",
      authConfig: { passwordAuth: "Enabled", activeDirectoryAuth: "Disabled" },
    });
    expect(server.administratorLoginPassword).toBe(one(prod, "random:index/randomPassword:RandomPassword").state.result);
    const db = one(prod, T.pgDatabase);
    expect(db.inputs).toMatchObject({ databaseName: "mlflow", charset: "UTF8" });
    expect(referenced(prod, db, "serverName")).toEqual([one(prod, T.server)]);
  });

  test("prod: 35-day geo-redundant backups, zone-redundant HA; dev: local backups, no HA", () => {
    expect(one(prod, T.server).inputs.backup).toEqual({ backupRetentionDays: 35, geoRedundantBackup: "Enabled" });
    expect(one(prod, T.server).inputs.highAvailability).toMatchObject({ mode: "ZoneRedundant" });
    expect(one(dev, T.server).inputs.backup).toEqual({ backupRetentionDays: 7, geoRedundantBackup: "Disabled" });
    expect(one(dev, T.server).inputs.highAvailability).toMatchObject({ mode: "Disabled" });
  });

  test("prod: protect plus a CanNotDelete lock on the server; dev: neither", () => {
    expect(one(prod, T.server).protect).toBe(true);
    expect(one(prod, T.pgDatabase).protect).toBe(true);
    const lock = one(prod, T.lock);
    expect(lock.inputs).toMatchObject({ level: "CanNotDelete", resourceProviderNamespace: "Microsoft.DBforPostgreSQL", resourceType: "flexibleServers", parentResourcePath: "" });
    expect(referenced(prod, lock, "resourceName")).toEqual([one(prod, T.server)]);
    expect(one(dev, T.server).protect).toBe(false);
    expect(ofType(dev, T.lock)).toHaveLength(0);
  });

  test("prod: data and geo backups encrypted with Key Vault keys through identities allowed to use those keys only", () => {
    const server = one(prod, T.server).inputs;
    const primaryKey = one(prod, T.key, "-postgres");
    const geoKey = one(prod, T.key, "postgres-geo-backup");
    const primaryIdentity = one(prod, T.identity, "db-cmk-identity");
    const geoIdentity = one(prod, T.identity, "db-geo-cmk-identity");
    expect(server.dataEncryption).toEqual({
      type: "AzureKeyVault",
      primaryKeyURI: primaryKey.state.keyUri,
      primaryUserAssignedIdentityId: idOf(primaryIdentity),
      geoBackupKeyURI: geoKey.state.keyUri,
      geoBackupUserAssignedIdentityId: idOf(geoIdentity),
    });
    expect(server.identity).toEqual({ type: "UserAssigned", userAssignedIdentities: { [idOf(primaryIdentity)]: {}, [idOf(geoIdentity)]: {} } });
    // The geo-backup key and its identity live in the paired region.
    expect(geoIdentity.inputs.location).toBe("northeurope");
    expect(one(prod, T.vault, "kvgeo-vault").inputs.location).toBe("northeurope");
    for (const [suffix, key, identity] of [["db-cmk-key-user", primaryKey, primaryIdentity], ["db-geo-cmk-key-user", geoKey, geoIdentity]] as const) {
      const grant = one(prod, T.role, suffix);
      expect(roleOf(grant)).toBe(ROLES.keyVaultCryptoServiceEncryptionUser);
      expect(grant.inputs).toMatchObject({ scope: idOf(key), principalId: identity.state.principalId });
      expect(one(prod, T.server).dependencies).toContain(grant.urn);
    }
    expect(one(dev, T.server).inputs.dataEncryption).toBeUndefined();
  });

  test("a major version bump is an update of the same resource: the SDK declares no replace-on-change for the server", async () => {
    const upgraded = await planAzure(devArgs({ database: { ...devArgs().database, postgresVersion: "17" } }));
    expect(one(upgraded, T.server).urn).toBe(one(dev, T.server).urn);
    expect(one(upgraded, T.server).inputs.version).toBe("17");
    const sdk = readFileSync(require.resolve("@pulumi/azure-native/dbforpostgresql/server.js"), "utf8");
    expect(sdk).not.toMatch(/replaceOnChanges/);
  });
});

describe("artifact storage account", () => {
  test("StorageV2, no anonymous access, no shared keys, TLS 1.2 over HTTPS only", () => {
    for (const p of [dev, prod]) {
      expect(one(p, T.account).inputs).toMatchObject({
        kind: "StorageV2",
        allowBlobPublicAccess: false,
        allowSharedKeyAccess: false,
        defaultToOAuthAuthentication: true,
        allowCrossTenantReplication: false,
        minimumTlsVersion: "TLS1_2",
        enableHttpsTrafficOnly: true,
      });
    }
  });

  test("network rules deny everything but the AKS subnet", () => {
    for (const p of [dev, prod]) {
      const account = one(p, T.account).inputs;
      expect(account.publicNetworkAccess).toBe("Enabled");
      expect(account.networkRuleSet).toEqual({ defaultAction: "Deny", bypass: "None", virtualNetworkRules: [{ virtualNetworkResourceId: idOf(one(p, T.subnet, "-aks")), action: "Allow" }] });
    }
  });

  test("redundancy: LRS in dev, GZRS in prod; a deterministic global name", () => {
    expect(one(dev, T.account).inputs.sku).toEqual({ name: "Standard_LRS" });
    expect(one(prod, T.account).inputs.sku).toEqual({ name: "Standard_GZRS" });
    expect(one(prod, T.account).inputs.accountName).toBe(storageAccountName("mlops-prod", prodArgs().globalNameSeed));
  });

  test("a private mlflow container; versioning, blob and container soft delete", () => {
    for (const [p, days] of [[dev, 7], [prod, 30]] as const) {
      const container = one(p, T.container);
      expect(container.inputs).toMatchObject({ containerName: "mlflow", publicAccess: "None" });
      expect(referenced(p, container, "accountName")).toEqual([one(p, T.account)]);
      const service = one(p, T.blobService);
      expect(service.inputs).toMatchObject({
        blobServicesName: "default",
        isVersioningEnabled: true,
        deleteRetentionPolicy: { enabled: true, days },
        containerDeleteRetentionPolicy: { enabled: true, days },
      });
      expect(referenced(p, service, "accountName")).toEqual([one(p, T.account)]);
    }
  });

  test("lifecycle: old versions deleted after N days; prod also moves blobs to Cool", () => {
    const rules = (p: AzurePlan) => one(p, T.lifecycle).inputs.policy.rules;
    expect(one(prod, T.lifecycle).inputs.managementPolicyName).toBe("default");
    expect(rules(dev)).toEqual(lifecycleRules({ noncurrentVersionExpirationDays: 7 }));
    expect(rules(dev)).toHaveLength(1);
    expect(rules(dev)[0].definition.actions).toEqual({ version: { delete: { daysAfterCreationGreaterThan: 7 } } });
    expect(rules(prod).map((r: any) => r.definition.actions)).toEqual([
      { version: { delete: { daysAfterCreationGreaterThan: 90 } } },
      { baseBlob: { tierToCool: { daysAfterModificationGreaterThan: 90 } } },
    ]);
    for (const r of rules(prod)) expect(r).toMatchObject({ enabled: true, type: "Lifecycle", definition: { filters: { blobTypes: ["blockBlob"], prefixMatch: ["mlflow/"] } } });
  });

  test("prod: encrypted with a Key Vault key (versionless: follows rotation) through its own identity", () => {
    const account = one(prod, T.account).inputs;
    const key = one(prod, T.key, "-artifacts");
    const identity = one(prod, T.identity, "artifacts-cmk-identity");
    expect(account.encryption).toMatchObject({
      keySource: "Microsoft.Keyvault",
      keyVaultProperties: { keyVaultUri: one(prod, T.vault, "kv-vault").state.properties.vaultUri, keyName: key.state.name },
      encryptionIdentity: { encryptionUserAssignedIdentity: idOf(identity) },
      requireInfrastructureEncryption: true,
    });
    expect(account.encryption.keyVaultProperties.keyVersion).toBeUndefined();
    expect(account.identity).toEqual({ type: "UserAssigned", userAssignedIdentities: [idOf(identity)] });
    const grant = one(prod, T.role, "artifacts-cmk-key-user");
    expect(grant.inputs).toMatchObject({ scope: idOf(key), principalId: identity.state.principalId });
    expect(one(prod, T.account).dependencies).toContain(grant.urn);
    expect(one(dev, T.account).inputs.encryption.keySource).toBe("Microsoft.Storage");
  });
});

describe("MLflow's workload identity", () => {
  test("a federated credential for exactly system:serviceaccount:mlops:mlflow on the cluster's issuer", () => {
    const identity = one(prod, T.identity, "mlflow-identity");
    const federation = one(prod, T.federation);
    expect(federation.inputs).toEqual({
      resourceGroupName: "mlops-prod-rg",
      resourceName: identity.state.name,
      issuer: one(prod, T.cluster).state.oidcIssuerProfile.issuerURL,
      subject: "system:serviceaccount:mlops:mlflow",
      audiences: ["api://AzureADTokenExchange"],
    });
  });

  test("Storage Blob Data Contributor on the mlflow container only, and no other role", () => {
    const identity = one(prod, T.identity, "mlflow-identity");
    const grants = ofType(prod, T.role).filter((r) => r.inputs.principalId === identity.state.principalId);
    expect(grants).toHaveLength(1);
    expect(roleOf(grants[0])).toBe(ROLES.storageBlobDataContributor);
    expect(grants[0].inputs.scope).toBe(idOf(one(prod, T.container)));
    expect(grants[0].inputs.scope).toMatch(/\/blobServices\/default\/containers\/mlflow$/);
  });
});

describe("container registry", () => {
  test("no admin user, no anonymous pull; Premium zone-redundant in prod, Basic in dev", () => {
    for (const p of [dev, prod]) expect(one(p, T.registry).inputs).toMatchObject({ adminUserEnabled: false, anonymousPullEnabled: false });
    expect(one(prod, T.registry).inputs).toMatchObject({ sku: { name: "Premium" }, zoneRedundancy: "Enabled" });
    expect(one(dev, T.registry).inputs).toMatchObject({ sku: { name: "Basic" }, zoneRedundancy: "Disabled" });
  });
});

describe("customer-managed keys (prod)", () => {
  test("an RBAC Key Vault with purge protection; keys that rotate by themselves and expire; all protected", () => {
    for (const vault of ofType(prod, T.vault)) {
      expect(vault.inputs.properties).toMatchObject({ enableRbacAuthorization: true, enableSoftDelete: true, enablePurgeProtection: true, softDeleteRetentionInDays: 90, tenantId: "00000000-0000-0000-0000-0000000000aa" });
      expect(vault.protect).toBe(true);
    }
    const keys = ofType(prod, T.key);
    expect(keys.map((k) => k.inputs.keyName).sort()).toEqual(["aks-secrets", "artifacts", "postgres", "postgres-geo-backup"]);
    for (const key of keys) {
      expect(key.protect).toBe(true);
      expect(key.inputs.properties.rotationPolicy).toEqual({
        attributes: { expiryTime: "P365D" },
        lifetimeActions: [
          { action: { type: "rotate" }, trigger: { timeAfterCreate: "P180D" } },
          { action: { type: "notify" }, trigger: { timeBeforeExpiry: "P30D" } },
        ],
      });
    }
    expect(ofType(dev, T.vault)).toHaveLength(0);
    expect(ofType(dev, T.key)).toHaveLength(0);
  });
});

describe("arguments Azure would refuse are refused at plan time", () => {
  test("HA on Burstable, CMK geo backups without a paired region, a zone-redundant non-Premium registry, keys expiring before rotation, no API ranges", async () => {
    const prodLike = prodArgs();
    await expect(planAzure({ ...prodLike, database: { ...prodLike.database, skuTier: "Burstable" } })).rejects.toThrow(/not Burstable/);
    await expect(planAzure({ ...prodLike, customerManagedKeys: { ...prodLike.customerManagedKeys!, pairedLocation: undefined } })).rejects.toThrow(/pairedLocation is required/);
    await expect(planAzure({ ...prodLike, registry: { sku: "Standard", zoneRedundant: true } })).rejects.toThrow(/need the Premium SKU/);
    await expect(planAzure({ ...prodLike, customerManagedKeys: { ...prodLike.customerManagedKeys!, expireAfterDays: 90 } })).rejects.toThrow(/must come after rotation/);
    await expect(planAzure({ ...prodLike, cluster: { ...prodLike.cluster, authorizedIpRanges: [] } })).rejects.toThrow(/authorizedIpRanges is empty/);
  });
});
