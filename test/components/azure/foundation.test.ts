/**
 * AzureFoundation declared alone under Pulumi's mocks with dev-like and prod-like arguments: the
 * cloud-neutral Foundation and FoundationOutputs it hands over, the kubeconfig, the component tree
 * and the tags. Azure's computed values come from scripts/plan/mocks/azure.ts.
 */
import { AKS_AAD_SERVER_APP_ID, certificateAuthorityOf, globalName, keyVaultName, registryName, storageAccountName } from "../../../components/azure";
import { OFFLINE_AKS_CA, aksUserKubeconfig } from "../../../scripts/plan/mocks/azure";
import { devArgs, ofType, one, planAzure, prodArgs, T, TAGS, type AzurePlan } from "./support";

let dev: AzurePlan;
let prod: AzurePlan;

beforeAll(async () => {
  dev = await planAzure(devArgs());
  prod = await planAzure(prodArgs());
});

describe("the Foundation", () => {
  test("cloud, Kubernetes version, storage class and resource metrics are AKS's", () => {
    for (const p of [dev, prod]) {
      expect(p.values.cloud).toBe("azure");
      expect(p.values.kubernetesVersion).toBe("1.33");
      expect(p.values.storageClass).toBe("managed-csi");
      expect(p.values.storageDependsOn).toBe(0);
      expect(p.values.resourceMetrics).toBe(0);
    }
  });

  test("database: the flexible server's FQDN, 5432, TLS required, a generated secret password", () => {
    const server = one(prod, T.server);
    expect(prod.values.host).toBe(server.state.fullyQualifiedDomainName);
    expect(prod.values.port).toBe(5432);
    expect(prod.values.sslMode).toBe("require");
    expect(prod.values.username).toBe("mlops_admin");
    expect(prod.secret.password).toBe(true);
    const password = one(prod, "random:index/randomPassword:RandomPassword");
    expect(password.inputs).toMatchObject({ length: 40, special: false });
    expect(server.secretPaths).toContain("administratorLoginPassword");
  });

  test("artifact store: wasbs://<container>@<account>.blob.core.windows.net/<prefix>", () => {
    const account = one(prod, T.account).inputs.accountName;
    expect(prod.values.artifactUri).toBe(`wasbs://mlflow@${account}.blob.core.windows.net/artifacts`);
    expect(prod.values.artifactStoreUri).toBe(prod.values.artifactUri);
  });

  test("MLflow identity: the workload identity client id annotation and the use label", () => {
    const identity = one(prod, T.identity, "mlflow-identity");
    expect(prod.values.annotations).toEqual({ "azure.workload.identity/client-id": identity.state.clientId });
    expect(prod.values.podLabels).toEqual({ "azure.workload.identity/use": "true" });
    expect(prod.values.serviceAccount).toBe("mlops/mlflow");
  });
});

describe("the stack outputs (FoundationOutputs)", () => {
  test("cluster name, region, endpoint, registry, identity", () => {
    expect(prod.values.clusterName).toBe("mlops-prod");
    expect(prod.values.region).toBe("westeurope");
    expect(prod.values.databaseEndpoint).toBe(`${one(prod, T.server).state.fullyQualifiedDomainName}:5432`);
    expect(prod.values.imageRegistry).toBe(`${registryName("mlops-prod", prodArgs().globalNameSeed)}.azurecr.io`);
    expect(prod.values.mlflowIdentity).toBe(one(prod, T.identity, "mlflow-identity").state.clientId);
    expect(dev.values.imageRegistry).not.toBe(prod.values.imageRegistry);
  });

  test("the kubeconfig is a secret: server from the FQDN, CA from the user credentials, kubelogin exec, no token", () => {
    for (const p of [dev, prod]) {
      expect(p.secret.kubeconfig).toBe(true);
      const config = JSON.parse(String(p.values.kubeconfig));
      const cluster = one(p, T.cluster);
      expect(config.clusters[0].cluster).toEqual({ server: `https://${cluster.state.fqdn}:443`, "certificate-authority-data": OFFLINE_AKS_CA });
      const user = config.users[0].user;
      expect(Object.keys(user)).toEqual(["exec"]);
      expect(user.exec.command).toBe("kubelogin");
      expect(user.exec.args).toEqual(["get-token", "--login", "azurecli", "--server-id", AKS_AAD_SERVER_APP_ID]);
      expect(String(p.values.kubeconfig)).not.toMatch(/token:|client-key|password/);
    }
  });

  test("the Kubernetes provider uses that kubeconfig with server-side apply, after the user pool and the admin groups' access", () => {
    const provider = one(prod, T.k8sProvider);
    expect(provider.inputs.kubeconfig).toBe(prod.values.kubeconfig);
    expect(provider.secretPaths).toContain("kubeconfig");
    expect(String(provider.inputs.enableServerSideApply)).toBe("true");
    const dependencies = provider.dependencies.map((urn) => prod.resources.find((r) => r.urn === urn)?.name);
    const groups = prodArgs().cluster.adminGroupObjectIds;
    expect(dependencies).toEqual(expect.arrayContaining(["mlops-cluster-user-pool", ...groups.map((g) => `mlops-cluster-admin-${g}`)]));
  });
});

describe("components and tags", () => {
  test("component types and parents", () => {
    const components = prod.resources.filter((r) => !r.custom).map((r) => r.type);
    expect(components).toEqual(
      expect.arrayContaining([
        "mlops:azure:Foundation",
        "mlops:azure:Network",
        "mlops:azure:Cluster",
        "mlops:azure:Database",
        "mlops:azure:ArtifactStore",
        "mlops:azure:Registry",
        "mlops:azure:WorkloadIdentity",
        "mlops:azure:KeyVault",
      ]),
    );
    expect(dev.resources.some((r) => r.type === "mlops:azure:KeyVault")).toBe(false);
    // Every Azure resource sits under a component of this folder.
    for (const r of prod.resources.filter((x) => x.type.startsWith("azure-native:"))) expect(r.parent).toMatch(/mlops:azure:\w+::/);
  });

  test("every Azure resource whose SDK class takes tags carries the standard tags", () => {
    for (const p of [dev, prod]) {
      const taggable = p.resources.filter((r) => r.type.startsWith("azure-native:") && takesTags(r.type));
      expect(taggable.length).toBeGreaterThan(10);
      for (const r of taggable) expect({ name: r.name, tags: r.inputs.tags }).toEqual({ name: r.name, tags: expect.objectContaining({ ...TAGS, environment: expect.any(String) }) });
    }
  });
});

describe("names and credentials parsing", () => {
  test("global names: deterministic, alphanumeric, within Azure's limits, different per seed", () => {
    const seed = "sub/prod";
    expect(storageAccountName("mlops-prod", seed)).toBe(storageAccountName("mlops-prod", seed));
    expect(storageAccountName("mlops-prod", seed)).toMatch(/^[a-z][a-z0-9]{2,23}$/);
    expect(storageAccountName("a-very-long-environment-prefix", seed)).toHaveLength(24);
    expect(registryName("mlops-prod", seed)).toMatch(/^[a-z0-9]{5,50}$/);
    expect(keyVaultName("mlops-prod", seed)).toMatch(/^[a-z][a-z0-9]{2,23}$/);
    expect(registryName("mlops-prod", "sub/other")).not.toBe(registryName("mlops-prod", seed));
    expect(() => globalName("1abc", seed, 24)).toThrow(/start with a letter/);
  });

  test("only the CA is read from AKS's user kubeconfig", () => {
    expect(certificateAuthorityOf(aksUserKubeconfig("c"))).toBe(OFFLINE_AKS_CA);
    expect(() => certificateAuthorityOf(Buffer.from("apiVersion: v1").toString("base64"))).toThrow(/certificate-authority-data/);
  });
});

/** Whether the @pulumi/azure-native class of a type token copies `tags` into its inputs (read from the SDK, no list). */
function takesTags(type: string): boolean {
  const [, module, kind] = type.split(":");
  const mod = require(`@pulumi/azure-native/${module}`) as Record<string, { __pulumiType?: string }>;
  const cls = mod[kind];
  if (!cls || cls.__pulumiType !== type) throw new Error(`no @pulumi/azure-native class for ${type}`);
  return String(cls).includes('resourceInputs["tags"] = args?.tags');
}
