import { validateClusterArgs } from "../../../components/gcp/cluster";
import { transactionLogRetentionDays } from "../../../components/gcp/database";
import { serviceAccountId, workloadIdentityMember } from "../../../components/gcp/identity";
import { gcpLabels } from "../../../components/gcp/labels";
import { GcpFoundation, validateFoundationArgs } from "../../../components/gcp";
import { prodArgs } from "./support";

describe("gcpLabels", () => {
  test("lower-cases keys and values and replaces what GCP refuses", () => {
    expect(gcpLabels({ Team: "ML Platform", "cost-center": "CC/1234", "managed-by": "pulumi", Owner: "jane.doe@example.com" })).toEqual({
      team: "ml_platform",
      "cost-center": "cc_1234",
      "managed-by": "pulumi",
      owner: "jane_doe_example_com",
    });
  });

  test("cuts keys and values to 63 characters, prefixes keys that do not start with a letter", () => {
    const labels = gcpLabels({ ["k".repeat(80)]: "v".repeat(80), "1st": "x" });
    expect(Object.keys(labels)).toEqual(["k".repeat(63), "l_1st"]);
    expect(labels["k".repeat(63)]).toHaveLength(63);
    for (const [k, v] of Object.entries(labels)) {
      expect(k).toMatch(/^[a-z][a-z0-9_-]{0,62}$/);
      expect(v).toMatch(/^[a-z0-9_-]{0,63}$/);
    }
  });

  test("refuses two tags that become the same label", () => {
    expect(() => gcpLabels({ Team: "a", team: "b" })).toThrow('tags "Team" and "team" both become the GCP label key "team"');
  });
});

describe("service account ids", () => {
  test("6-30 characters, the suffix kept", () => {
    expect(serviceAccountId("mlops-prod", "nodes")).toBe("mlops-prod-nodes");
    const long = serviceAccountId("a-very-long-cluster-name-for-testing", "mlflow");
    expect(long).toHaveLength(30);
    expect(long.endsWith("-mlflow")).toBe(true);
    expect(serviceAccountId("9Prod_Cluster", "nodes")).toBe("prod-cluster-nodes");
  });

  test("the Workload Identity principal of one Kubernetes service account", () => {
    expect(workloadIdentityMember("p-1", "mlops", "mlflow")).toBe("serviceAccount:p-1.svc.id.goog[mlops/mlflow]");
  });
});

describe("cluster argument checks", () => {
  const ok = { clusterName: "mlops-prod", masterCidr: "172.16.0.0/28", authorizedNetworks: ["198.51.100.0/24"], nodePool: { machineType: "e2-standard-4", min: 1, max: 3, spot: false, diskSizeGb: 50 } };
  test("accepts a valid set", () => expect(() => validateClusterArgs(ok)).not.toThrow());
  test.each([
    [{ authorizedNetworks: ["0.0.0.0/0"] }, "opens the control plane to the whole internet"],
    [{ authorizedNetworks: ["10.0.0.1"] }, "is not an IPv4 CIDR"],
    [{ masterCidr: "172.16.0.0/24" }, "must be a /28"],
    [{ clusterName: "MLOps_Prod" }, "GKE cluster name"],
    [{ nodePool: { ...ok.nodePool, min: 4, max: 3 } }, "need 1 <= min <= max"],
  ])("refuses %j", (change, message) => {
    expect(() => validateClusterArgs({ ...ok, ...change })).toThrow(message);
  });
});

test("write-ahead logs kept as long as backups, up to the edition's limit", () => {
  expect(transactionLogRetentionDays({ backupRetentionDays: 14, edition: "ENTERPRISE" })).toBe(7);
  expect(transactionLogRetentionDays({ backupRetentionDays: 14, edition: "ENTERPRISE_PLUS" })).toBe(14);
  expect(transactionLogRetentionDays({ backupRetentionDays: 1, edition: "ENTERPRISE" })).toBe(1);
});

describe("foundation argument checks (before anything is registered)", () => {
  test("a zonal cluster's zone must lie in the region", () => {
    const args = prodArgs();
    args.cluster.regional = false;
    args.zone = "us-central1-a";
    expect(() => validateFoundationArgs(args)).toThrow('zone "us-central1-a" is not in region "europe-west1"');
    args.zone = "europe-west1-c";
    expect(() => validateFoundationArgs(args)).not.toThrow();
  });

  test("the cluster's checks run on the foundation's arguments", () => {
    const args = prodArgs();
    args.cluster.authorizedNetworks = ["198.51.100.0/24", "0.0.0.0/0"];
    expect(() => validateFoundationArgs(args)).toThrow("opens the control plane to the whole internet");
  });

  test("the constructor refuses them", () => {
    const args = prodArgs();
    args.network.masterCidr = "172.16.0.0/20";
    expect(() => new GcpFoundation("bad", args)).toThrow("must be a /28");
  });
});
