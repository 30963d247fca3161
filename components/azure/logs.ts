import { DataCollectionRule } from "@pulumi/azure-native/monitor/dataCollectionRule";
import { DataCollectionRuleAssociation } from "@pulumi/azure-native/monitor/dataCollectionRuleAssociation";
import { Workspace } from "@pulumi/azure-native/operationalinsights/workspace";
import * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";

/** PerGB2018 workspaces keep data at least this many days (Azure refuses less). */
export const MIN_WORKSPACE_RETENTION_DAYS = 30;
/** Container Insights' logs-and-events preset: container stdout/stderr (v2 schema), Kubernetes events, pod inventory. */
export const CONTAINER_INSIGHTS_STREAMS = ["Microsoft-ContainerLogV2", "Microsoft-KubeEvents", "Microsoft-KubePodInventory"];
/** The association name Container Insights looks for on the cluster. */
export const CONTAINER_INSIGHTS_ASSOCIATION = "ContainerInsightsExtension";

export interface LogWorkspaceArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  /** The profile's log retention; raised to 30 days, Azure's minimum. */
  retentionDays: number;
  tags: Tags;
}

/**
 * The stack's Log Analytics workspace: container logs (Container Insights) and, in prod, the control
 * plane's audit trail. Entra ID only (local authentication off: no shared workspace key).
 */
export class LogWorkspace extends pulumi.ComponentResource {
  readonly workspace: Workspace;
  readonly workspaceId: pulumi.Output<string>;
  readonly retentionDays: number;

  constructor(name: string, args: LogWorkspaceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:azure:LogWorkspace", name, {}, opts);
    this.retentionDays = workspaceRetentionDays(args.retentionDays);
    this.workspace = new Workspace(
      `${name}-workspace`,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        sku: { name: "PerGB2018" },
        retentionInDays: this.retentionDays,
        features: { disableLocalAuth: true },
        tags: args.tags,
      },
      { parent: this },
    );
    this.workspaceId = this.workspace.id;
    this.registerOutputs({ workspaceId: this.workspaceId });
  }
}

export function workspaceRetentionDays(days: number): number {
  return Math.max(MIN_WORKSPACE_RETENTION_DAYS, days);
}

export interface ContainerInsightsArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  /** The AKS cluster's resource id (the monitoring add-on is on, with Entra ID authentication). */
  clusterId: pulumi.Input<string>;
  workspaceId: pulumi.Input<string>;
  tags: Tags;
}

/**
 * What the monitoring add-on's agent (ama-logs) collects and where it sends it: a data collection rule
 * with the Container Insights extension (the logs-and-events streams, every namespace) into the
 * workspace, associated with the cluster. AKS's CLI creates these when it enables the add-on; declared
 * here, the program owns them.
 */
export class ContainerInsights extends pulumi.ComponentResource {
  readonly rule: DataCollectionRule;

  constructor(name: string, args: ContainerInsightsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:azure:ContainerInsights", name, {}, opts);
    this.rule = new DataCollectionRule(
      `${name}-dcr`,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        kind: "Linux",
        description: "Container Insights: container logs, Kubernetes events and pod inventory",
        dataSources: {
          extensions: [
            {
              name: CONTAINER_INSIGHTS_ASSOCIATION,
              extensionName: "ContainerInsights",
              streams: CONTAINER_INSIGHTS_STREAMS,
              extensionSettings: { dataCollectionSettings: { interval: "1m", namespaceFilteringMode: "Off", enableContainerLogV2: true } },
            },
          ],
        },
        destinations: { logAnalytics: [{ name: "workspace", workspaceResourceId: args.workspaceId }] },
        dataFlows: [{ streams: CONTAINER_INSIGHTS_STREAMS, destinations: ["workspace"] }],
        tags: args.tags,
      },
      { parent: this },
    );
    new DataCollectionRuleAssociation(
      `${name}-association`,
      { associationName: CONTAINER_INSIGHTS_ASSOCIATION, resourceUri: args.clusterId, dataCollectionRuleId: this.rule.id, description: "Container Insights of the cluster" },
      { parent: this },
    );
    this.registerOutputs({ ruleId: this.rule.id });
  }
}
