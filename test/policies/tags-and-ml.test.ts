import { mlRules } from "../../policies/rules/ml";
import { mlAlertsHaveRunbooks } from "../../policies/rules/ml/alerts-have-runbooks";
import { mlChallengerTrafficShare } from "../../policies/rules/ml/challenger-traffic-share";
import { mlRegistryModelsOnly } from "../../policies/rules/ml/registry-models-only";
import { mlServingHasDriftDetector } from "../../policies/rules/ml/serving-has-drift-detector";
import { mlServingMonitored } from "../../policies/rules/ml/serving-monitored";
import { tagsRules } from "../../policies/rules/tags";
import { tagsCloudRequired } from "../../policies/rules/tags/cloud-tags";
import { tagsKubernetesLabels } from "../../policies/rules/tags/kubernetes-labels";
import type { DeclaredResource } from "../../scripts/plan/harness";
import { check, DEPLOYMENT, goodDeployment, messages, resource, SERVICE, SERVICE_MONITOR } from "../helpers/policy-engine";
import { runCases, type RuleCase } from "./support/cases";

const TAGS = { project: "mlops-platform", environment: "prod", team: "ml-platform", "cost-center": "cc-1042", "managed-by": "pulumi" };

// ---------------------------------------------------------------------------------------------
// The serving / drift / monitoring shapes the Kubernetes components declare (components/kubernetes).

const MODEL = "fraud-detector";
const labelsOf = (app: string, instance: string, component: string) => ({
  "app.kubernetes.io/name": app,
  "app.kubernetes.io/instance": instance,
  "app.kubernetes.io/component": component,
  "app.kubernetes.io/part-of": "mlops-platform",
  "app.kubernetes.io/managed-by": "pulumi",
  "mlops-platform/model": MODEL,
});
const SERVING_LABELS = labelsOf("serving", "serving-fraud-detector", "model-serving");
const DRIFT_LABELS = labelsOf("drift", "drift-fraud-detector", "drift-detection");
const selectorOf = (labels: Record<string, string>) => ({ "app.kubernetes.io/name": labels["app.kubernetes.io/name"], "app.kubernetes.io/instance": labels["app.kubernetes.io/instance"] });

function serving(env?: Record<string, any>[]): DeclaredResource {
  return resource(DEPLOYMENT, goodDeployment({ labels: SERVING_LABELS, ...(env ? { env } : {}) }), { name: "serving-fraud-detector" });
}

function drift(replicas = 1): DeclaredResource {
  return resource(
    DEPLOYMENT,
    goodDeployment({
      labels: DRIFT_LABELS,
      replicas,
      env: [
        { name: "MODEL_NAME", value: MODEL },
        { name: "REFERENCE_URI", value: `models:/${MODEL}@champion` },
      ],
    }),
    { name: "drift-fraud-detector" },
  );
}

function serviceFor(labels: Record<string, string>, ports = [{ name: "http", port: 8080 }, { name: "metrics", port: 9090 }]): DeclaredResource {
  const name = labels["app.kubernetes.io/instance"];
  return resource(SERVICE, { metadata: { name, namespace: "mlops", labels }, spec: { type: "ClusterIP", selector: selectorOf(labels), ports } }, { name: `${name}-service` });
}

function monitorFor(labels: Record<string, string>, spec: Record<string, any> = {}, metadata: Record<string, any> = {}): DeclaredResource {
  const name = labels["app.kubernetes.io/instance"];
  return resource(
    SERVICE_MONITOR,
    { apiVersion: "monitoring.coreos.com/v1", kind: "ServiceMonitor", metadata: { name, namespace: "mlops", labels, ...metadata }, spec: { selector: { matchLabels: selectorOf(labels) }, endpoints: [{ port: "metrics", path: "/metrics" }], ...spec } },
    { name: `${name}-servicemonitor` },
  );
}

/** A complete, correct pair: serving and drift with their Services and ServiceMonitors. */
const watchedModel = () => [serving(), serviceFor(SERVING_LABELS), monitorFor(SERVING_LABELS), drift(), serviceFor(DRIFT_LABELS), monitorFor(DRIFT_LABELS)];
const withEnv = (...env: Record<string, any>[]) => [
  { name: "MODEL_NAME", value: MODEL },
  { name: "MODEL_URI", value: `models:/${MODEL}@champion` },
  ...env,
];

const cases: RuleCase[] = [
  {
    rule: tagsCloudRequired,
    mistake: "an untagged VPC (nobody knows whose cost it is)",
    bad: () => [resource("aws:ec2/vpc:Vpc", { cidrBlock: "10.30.0.0/16" }, { name: "vpc" })],
    expected: /Vpc "vpc" lacks the tags project, environment, team, cost-center, managed-by/,
    good: () => [resource("aws:ec2/vpc:Vpc", { cidrBlock: "10.30.0.0/16", tags: TAGS }), resource("aws:ec2/routeTableAssociation:RouteTableAssociation", { subnetId: "s" })],
  },
  {
    rule: tagsCloudRequired,
    mistake: "resources copied from a Terraform stack (managed-by terraform) and GKE labels missing",
    bad: () => [resource("aws:s3/bucket:Bucket", { tags: { ...TAGS, "managed-by": "terraform" } }, { name: "b" }), resource("gcp:container/cluster:Cluster", { resourceLabels: { team: "ml" } }, { name: "gke" })],
    expected: /has tags.managed-by "terraform", expected "pulumi"[\s\S]*Cluster "gke" lacks the resourceLabels project, environment, cost-center, managed-by/,
    good: () => [
      resource("gcp:container/cluster:Cluster", { resourceLabels: TAGS }),
      resource("gcp:sql/databaseInstance:DatabaseInstance", { settings: { userLabels: TAGS } }),
      resource("azure-native:storage:StorageAccount", { tags: TAGS }),
    ],
  },
  {
    rule: tagsKubernetesLabels,
    mistake: "a ConfigMap labelled only app: x",
    bad: () => [resource("kubernetes:core/v1:ConfigMap", { metadata: { name: "settings", namespace: "mlops", labels: { app: "x" } } })],
    expected: /ConfigMap "mlops\/settings" lacks the labels app.kubernetes.io\/name, app.kubernetes.io\/instance, app.kubernetes.io\/component/,
    good: () => [serving(), resource("kubernetes:helm.sh/v3:Release", { chart: "x", version: "1.0.0" })],
  },
  {
    rule: tagsKubernetesLabels,
    mistake: "a Deployment whose pod template lost its labels",
    bad: () => {
      const d = goodDeployment({ labels: SERVING_LABELS });
      d.spec.template.metadata.labels = selectorOf(SERVING_LABELS);
      return [resource(DEPLOYMENT, d)];
    },
    expected: /'s pod template lacks the labels app.kubernetes.io\/component, app.kubernetes.io\/part-of, app.kubernetes.io\/managed-by/,
    good: () => [serving()],
  },
  {
    rule: mlServingHasDriftDetector,
    mistake: "a served model without a drift detector",
    bad: () => [serving(), serviceFor(SERVING_LABELS)],
    expected: /model "fraud-detector" is served by Deployment "mlops\/serving-fraud-detector" without a running drift detector/,
    good: () => watchedModel(),
  },
  {
    rule: mlServingHasDriftDetector,
    mistake: "a drift detector scaled to zero, and one that serving never feeds",
    bad: () => [serving(withEnv({ name: "EVENT_SINKS", value: "http://monitor.mlops.svc.cluster.local:8080" })), drift(), serviceFor(DRIFT_LABELS)],
    expected: /does not send its prediction events to the drift detector of "fraud-detector": add its Service URL \(drift-fraud-detector.mlops.svc\)/,
    good: () => [serving(withEnv({ name: "EVENT_SINKS", value: "http://drift-fraud-detector.mlops:8080" })), drift(), serviceFor(DRIFT_LABELS)],
  },
  {
    rule: mlServingHasDriftDetector,
    mistake: "a drift detector with zero replicas",
    bad: () => [serving(), drift(0), serviceFor(DRIFT_LABELS)],
    expected: /without a running drift detector/,
    good: () => [serving(), drift(1), serviceFor(DRIFT_LABELS)],
  },
  {
    rule: mlServingMonitored,
    mistake: "a serving workload no ServiceMonitor scrapes",
    bad: () => [serving(), serviceFor(SERVING_LABELS), drift(), serviceFor(DRIFT_LABELS), monitorFor(DRIFT_LABELS)],
    expected: /serving Deployment "mlops\/serving-fraud-detector" \(model "fraud-detector"\) is not monitored: no ServiceMonitor selects its Service "serving-fraud-detector"/,
    good: () => watchedModel(),
  },
  {
    rule: mlServingMonitored,
    mistake: "a ServiceMonitor in the monitoring namespace without a namespaceSelector (it only sees its own namespace)",
    bad: () => [serving(), serviceFor(SERVING_LABELS), monitorFor(SERVING_LABELS, {}, { namespace: "monitoring" })],
    expected: /no ServiceMonitor selects its Service/,
    good: () => [serving(), serviceFor(SERVING_LABELS), monitorFor(SERVING_LABELS, { namespaceSelector: { matchNames: ["mlops"] } }, { namespace: "monitoring" })],
  },
  {
    rule: mlServingMonitored,
    mistake: "a ServiceMonitor naming a port the Service does not have",
    bad: () => [serving(), serviceFor(SERVING_LABELS, [{ name: "http", port: 8080 }]), monitorFor(SERVING_LABELS)],
    expected: /scrapes a port its Service "serving-fraud-detector" does not have/,
    good: () => [serving(), serviceFor(SERVING_LABELS), monitorFor(SERVING_LABELS)],
  },
  {
    rule: mlServingMonitored,
    mistake: "a ServiceMonitor the kube-prometheus-stack Prometheus ignores (chart defaults need release: <name>)",
    bad: () => [serving(), serviceFor(SERVING_LABELS), monitorFor(SERVING_LABELS), resource("kubernetes:helm.sh/v3:Release", { name: "kps", chart: "kube-prometheus-stack", version: "79.12.0", values: {} })],
    expected: /lacks the label release: kps, so the kube-prometheus-stack Prometheus ignores it/,
    good: () => [
      serving(),
      serviceFor(SERVING_LABELS),
      monitorFor(SERVING_LABELS),
      resource("kubernetes:helm.sh/v3:Release", { name: "kps", chart: "kube-prometheus-stack", version: "79.12.0", values: { prometheus: { prometheusSpec: { serviceMonitorSelectorNilUsesHelmValues: false } } } }),
    ],
  },
  {
    rule: mlRegistryModelsOnly,
    mistake: "a model loaded straight from a bucket",
    bad: () => [serving([{ name: "MODEL_NAME", value: MODEL }, { name: "MODEL_URI", value: "s3://mlops-artifacts/models/fraud/model.onnx" }])],
    expected: /MODEL_URI="s3:\/\/mlops-artifacts\/models\/fraud\/model.onnx" is not a registry URI/,
    good: () => [serving([{ name: "MODEL_NAME", value: MODEL }, { name: "MODEL_URI", value: `models:/${MODEL}/7` }])],
  },
  {
    rule: mlRegistryModelsOnly,
    mistake: "a challenger from a training run and a MODEL_URI of another model",
    bad: () => [serving([{ name: "MODEL_NAME", value: MODEL }, { name: "MODEL_URI", value: "models:/churn-predictor@champion" }, { name: "CHALLENGER_URI", value: "runs:/8f2c/model" }])],
    expected: /says it serves "fraud-detector" \(MODEL_NAME\) but loads "churn-predictor"[\s\S]*CHALLENGER_URI="runs:\/8f2c\/model" is not a registry URI/,
    good: () => [serving(withEnv({ name: "CHALLENGER_URI", value: `models:/${MODEL}@challenger` }))],
  },
  {
    rule: mlRegistryModelsOnly,
    mistake: "a serving workload taking its model from a ConfigMap (unreviewable)",
    bad: () => [serving([{ name: "MODEL_URI", valueFrom: { configMapKeyRef: { name: "models", key: "fraud" } } }])],
    expected: /MODEL_URI comes from configMapKeyRef, which a policy cannot read/,
    good: () => [serving()],
  },
  {
    rule: mlChallengerTrafficShare,
    mistake: "a challenger answering 30% of production traffic",
    bad: () => [serving(withEnv({ name: "CHALLENGER_URI", value: `models:/${MODEL}@challenger` }, { name: "CHALLENGER_WEIGHT", value: "30" }, { name: "SHADOW", value: "false" }))],
    expected: /sends 30% of live traffic to its challenger; at most 10% allowed/,
    good: () => [
      serving(withEnv({ name: "CHALLENGER_URI", value: `models:/${MODEL}@challenger` }, { name: "CHALLENGER_WEIGHT", value: "10" }, { name: "MAX_CHALLENGER_WEIGHT", value: "10" })),
      serving(withEnv({ name: "CHALLENGER_URI", value: `models:/${MODEL}@challenger` }, { name: "CHALLENGER_WEIGHT", value: "0" }, { name: "SHADOW", value: "true" })),
    ],
  },
  {
    rule: mlChallengerTrafficShare,
    mistake: "a shadow challenger that still carries a weight, and a weight that is not a number",
    bad: () => [
      serving(withEnv({ name: "CHALLENGER_WEIGHT", value: "20" }, { name: "SHADOW", value: "true" })),
      serving(withEnv({ name: "CHALLENGER_WEIGHT", value: "ten" })),
    ],
    expected: /in shadow mode with CHALLENGER_WEIGHT 20[\s\S]*CHALLENGER_WEIGHT "ten" is not a percentage/,
    good: () => [serving(withEnv({ name: "CHALLENGER_WEIGHT", value: "20" }))],
    goodParams: { maxSharePercent: 50 },
  },
  {
    rule: mlChallengerTrafficShare,
    mistake: "a challenger alias whose deploy-time weight tag is not capped to the environment's share",
    bad: () => [
      serving(withEnv({ name: "CHALLENGER_URI", value: `models:/${MODEL}@challenger` }, { name: "CHALLENGER_WEIGHT", value: "5" })),
      serving(withEnv({ name: "CHALLENGER_URI", value: `models:/${MODEL}@challenger` }, { name: "CHALLENGER_WEIGHT", value: "5" }, { name: "MAX_CHALLENGER_WEIGHT", value: "50" })),
    ],
    expected: /without MAX_CHALLENGER_WEIGHT: a deploy's mlops\.challenger_weight tag could send it up to 100%[\s\S]*up to 50% of live traffic \(MAX_CHALLENGER_WEIGHT\); at most 10%/,
    good: () => [
      serving(withEnv({ name: "CHALLENGER_URI", value: `models:/${MODEL}@challenger` }, { name: "CHALLENGER_WEIGHT", value: "5" }, { name: "MAX_CHALLENGER_WEIGHT", value: "10" })),
      // A pinned version reads no tag; a shadow challenger answers nothing.
      serving(withEnv({ name: "CHALLENGER_URI", value: `models:/${MODEL}/7` }, { name: "CHALLENGER_WEIGHT", value: "5" })),
      serving(withEnv({ name: "CHALLENGER_URI", value: `models:/${MODEL}@challenger` }, { name: "CHALLENGER_WEIGHT", value: "0" }, { name: "SHADOW", value: "true" })),
    ],
  },
  {
    rule: mlAlertsHaveRunbooks,
    mistake: "a team's own alert that pages without a runbook",
    bad: () => [alertRule({ summary: "the feature store is stale" })],
    expected: /alert FeatureStoreStale \(group team\) has no runbook_url annotation/,
    good: () => [alertRule({ summary: "the feature store is stale", runbook_url: "https://wiki.example.com/runbooks/FeatureStoreStale.md" })],
  },
];

function alertRule(annotations: Record<string, string>): DeclaredResource {
  return resource(
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
    { apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule", metadata: { name: "team-alerts", namespace: "monitoring" }, spec: { groups: [{ name: "team", rules: [{ alert: "FeatureStoreStale", expr: "feature_age_seconds > 3600", annotations }] }] } },
    { name: "team-alerts" },
  );
}

runCases("tags", tagsRules, cases.filter((c) => tagsRules.includes(c.rule)));
describe("ml", () => runCases("ml", mlRules, cases.filter((c) => mlRules.includes(c.rule))));

test("provider default tags count, and the environment tag must match the stack's", async () => {
  const provider = resource("pulumi:providers:aws", { region: "us-west-2", defaultTags: JSON.stringify({ tags: TAGS }) }, { name: "aws" });
  const vpc = resource("aws:ec2/vpc:Vpc", { cidrBlock: "10.0.0.0/16" }, { name: "vpc", provider: `${provider.urn}::aws-id` });
  expect(await check(tagsCloudRequired, [provider, vpc])).toEqual([]);
  const violations = await check(tagsCloudRequired, [provider, vpc], {}, { stackTags: { environment: "dev" } });
  expect(messages(violations)).toEqual(['Vpc "vpc" is tagged environment "prod" in the stack tagged environment "dev"']);
});

test("stack config aws:defaultTags reaches resources through the default provider", async () => {
  const vpc = resource("aws:ec2/vpc:Vpc", { cidrBlock: "10.0.0.0/16" }, { name: "vpc" });
  const stack = { project: "mlops-platform", stack: "prod", config: { "aws:region": "us-west-2", "aws:defaultTags": JSON.stringify({ tags: TAGS }) } };
  expect(await check(tagsCloudRequired, [vpc], {}, { stack })).toEqual([]);
  expect(await check(tagsCloudRequired, [vpc], {}, { stack: { ...stack, config: {} } })).toHaveLength(1);
});

test("a workload without the platform's labels is still recognised as serving by its MODEL_URI", async () => {
  const unlabelled = goodDeployment({ metadata: { name: "fraud-api" } });
  const plain = { app: "fraud-api" };
  unlabelled.metadata.labels = plain;
  unlabelled.spec.selector.matchLabels = plain;
  unlabelled.spec.template.metadata.labels = plain;
  const violations = await check(mlServingHasDriftDetector, [resource(DEPLOYMENT, unlabelled)]);
  expect(messages(violations)).toEqual([expect.stringContaining('model "fraud-detector" is served by Deployment "mlops/fraud-api" without a running drift detector')]);
});

test("the recognition labels are parameters", async () => {
  const custom = { servingComponent: "inference", driftComponent: "drift", modelLabel: "example.com/model" };
  const d = resource(DEPLOYMENT, goodDeployment({ labels: { "app.kubernetes.io/component": "inference", "example.com/model": "m" }, env: [{ name: "MODEL_URI", value: "models:/m@champion" }] }));
  expect(messages(await check(mlServingHasDriftDetector, [d], custom))).toEqual([expect.stringContaining('model "m" is served by')]);
});
