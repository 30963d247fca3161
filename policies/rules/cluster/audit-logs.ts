import * as aws from "@pulumi/aws";
import { checkEach, peek, stackRule } from "../support/define";
import { cisEks } from "../support/frameworks";
import { referencing } from "../support/references";
import { azure, gcp } from "../support/types";

interface Params {
  requiredLogTypes: string[];
  minimumRetentionDays: number;
}

const AKS_AUDIT_CATEGORIES = ["kube-audit", "kube-audit-admin"];

export const clusterAuditLogs = stackRule(
  {
    name: "cluster-audit-logs",
    description:
      "The control plane's audit trail is shipped and kept, so every change to the cluster (a deleted Secret, a new binding) can be traced to a person. EKS enables the api, audit and authenticator log types and keeps its control-plane log group at least minimumRetentionDays days; GKE sends API server logs to Cloud Logging; AKS has a diagnostic setting exporting kube-audit or kube-audit-admin.",
    severity: "high",
    framework: cisEks("2.1.1 Enable audit Logs (GKE: Cloud Logging of the API server; AKS: kube-audit diagnostic logs)"),
    clouds: ["aws", "gcp", "azure"],
    enforcementLevel: "mandatory",
    configSchema: {
      properties: {
        requiredLogTypes: { type: "array", items: { type: "string", enum: ["api", "audit", "authenticator", "controllerManager", "scheduler"] }, default: ["api", "audit", "authenticator"] },
        minimumRetentionDays: { type: "integer", minimum: 1, default: 7 },
      },
    },
    remediationSteps:
      "EKS: enabledClusterLogTypes [\"api\", \"audit\", \"authenticator\"] and an aws.cloudwatch.LogGroup /aws/eks/<cluster>/cluster with retentionInDays >= the minimum. GKE: loggingConfig.enableComponents including APISERVER. AKS: a monitor.DiagnosticSetting (azure-native v3) on the cluster with the kube-audit-admin category enabled.",
  },
  (args, report) => {
    const { requiredLogTypes, minimumRetentionDays } = args.getConfig<Params>();
    const resources = args.resources;
    const logGroups = resources.filter((r) => r.isType(aws.cloudwatch.LogGroup));
    checkEach(resources.filter((r) => r.isType(aws.eks.Cluster)), report, (cluster, reportHere) => {
      const enabled: string[] = cluster.props.enabledClusterLogTypes ?? [];
      const missing = requiredLogTypes.filter((t) => !enabled.includes(t));
      if (missing.length) reportHere(`EKS cluster "${cluster.name}" does not ship the ${missing.join(", ")} log(s): add them to enabledClusterLogTypes`);
      const groupName = `/aws/eks/${cluster.props.name}/cluster`;
      const group = logGroups.find((g) => peek(() => g.props.name) === groupName);
      // Unset (or 0) retention keeps logs forever, which satisfies the minimum.
      const retention = group ? Number(group.props.retentionInDays ?? 0) : 0;
      if (group && retention > 0 && retention < minimumRetentionDays) reportHere(`EKS cluster "${cluster.name}" keeps its control-plane logs ${retention} day(s) (${groupName}); at least ${minimumRetentionDays} required`);
    });
    checkEach(resources.filter((r) => r.isType(gcp.gkeCluster)), report, (cluster, reportHere) => {
      const components: string[] = cluster.props.loggingConfig?.enableComponents ?? [];
      if (!components.includes("APISERVER")) reportHere(`GKE cluster "${cluster.name}" does not send API server logs: add APISERVER to loggingConfig.enableComponents`);
    });
    checkEach(resources.filter((r) => r.isType(azure.aksCluster)), report, (cluster, reportHere) => {
      const settings = referencing(resources, [azure.diagnosticSetting], "resourceUri", cluster, ["id"]);
      const audited = settings.some((s) =>
        (s.props.logs ?? []).some((l: any) => l.enabled !== false && (AKS_AUDIT_CATEGORIES.includes(l.category) || ["audit", "allLogs"].includes(l.categoryGroup))),
      );
      if (!audited) reportHere(`AKS cluster "${cluster.name}" exports no audit log: add a DiagnosticSetting on it with the kube-audit-admin category enabled`);
    });
  },
);
