import { workloadsRules } from "../../policies/rules/workloads";
import { workloadsHelmChartPinned } from "../../policies/rules/workloads/helm-chart-pinned";
import { workloadsImagePinned } from "../../policies/rules/workloads/image-pinned";
import { workloadsImageProvenance } from "../../policies/rules/workloads/image-provenance";
import { workloadsNoClusterAdmin } from "../../policies/rules/workloads/no-cluster-admin";
import { credentialUrlsIn, isCredentialParameter, workloadsNoCredentialUrls } from "../../policies/rules/workloads/no-credential-urls";
import { workloadsNoDefaultNamespace } from "../../policies/rules/workloads/no-default-namespace";
import { workloadsNoNodePort } from "../../policies/rules/workloads/no-nodeport";
import { workloadsNoPublicLoadBalancer } from "../../policies/rules/workloads/no-public-load-balancer";
import { workloadsNoSecretLiterals } from "../../policies/rules/workloads/no-secret-literals";
import { workloadsNonRoot } from "../../policies/rules/workloads/non-root";
import { workloadsProbes } from "../../policies/rules/workloads/probes";
import { workloadsReadOnlyRootFilesystem } from "../../policies/rules/workloads/read-only-root-filesystem";
import { SINGLETON_ANNOTATION, workloadsReplicasAndPdb } from "../../policies/rules/workloads/replicas-and-pdb";
import { workloadsResources } from "../../policies/rules/workloads/resources";
import { workloadsRestrictedPodSecurity } from "../../policies/rules/workloads/restricted-pod-security";
import { workloadsServiceAccountToken } from "../../policies/rules/workloads/service-account-token";
import { isSecretName } from "../../policies/rules/support/secrets";
import { parseImage } from "../../policies/rules/support/images";
import type { DeclaredResource } from "../../scripts/plan/harness";
import { check, DEPLOYMENT, goodDeployment, messages, resource, SERVICE, UNKNOWN } from "../helpers/policy-engine";
import { plan } from "../helpers/plan";
import { listStacks } from "../../scripts/plan/stack-config";
import { runCases, type RuleCase } from "./support/cases";

const deployment = (o: Parameters<typeof goodDeployment>[0] = {}, extra: Partial<DeclaredResource> = {}) => resource(DEPLOYMENT, goodDeployment(o), { name: "serving-fraud-detector", ...extra });
const job = (container: Record<string, any>) =>
  resource("kubernetes:batch/v1:Job", {
    metadata: { name: "db-init", namespace: "mlops" },
    spec: { template: { spec: { restartPolicy: "Never", automountServiceAccountToken: false, containers: [{ name: "init", image: "registry/mlflow:3.14.0", ...container }] } } },
  });
const service = (spec: Record<string, any>, annotations: Record<string, string> = {}) => resource(SERVICE, { metadata: { name: "serving-fraud-detector", namespace: "mlops", annotations }, spec: { selector: { app: "x" }, ports: [{ port: 8080 }], ...spec } });
const release = (inputs: Record<string, any>) => resource("kubernetes:helm.sh/v3:Release", { name: "kube-prometheus-stack", chart: "kube-prometheus-stack", version: "79.12.0", namespace: "monitoring", repositoryOpts: { repo: "https://prometheus-community.github.io/helm-charts" }, ...inputs }, { name: "monitoring" });
const pdb = (spec: Record<string, any>) => resource("kubernetes:policy/v1:PodDisruptionBudget", { metadata: { name: "serving-fraud-detector", namespace: "mlops" }, spec: { selector: { matchLabels: { "app.kubernetes.io/instance": "serving-fraud-detector" } }, ...spec } });
const hpa = (minReplicas: number) =>
  resource("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", { metadata: { name: "serving-fraud-detector", namespace: "mlops" }, spec: { minReplicas, maxReplicas: 20, scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "serving-fraud-detector" } } });
const binding = (roleName: string, subjects: Record<string, string>[], kind = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding") =>
  resource(kind, { metadata: { name: "serving-admin", namespace: "mlops" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: roleName }, subjects });
const ECR = "123456789012.dkr.ecr.us-west-2.amazonaws.com/mlops";

const cases: RuleCase[] = [
  {
    rule: workloadsResources,
    mistake: "a container without limits (a big model starves its neighbours)",
    bad: () => [deployment({ container: { resources: { requests: { cpu: "1", memory: "1Gi" } } } })],
    expected: /container "serving" has no limits.cpu, limits.memory/,
    good: () => [deployment()],
  },
  {
    rule: workloadsResources,
    mistake: "an init container without any resources",
    bad: () => [deployment({ pod: { initContainers: [{ name: "fetch-model", image: "busybox:1.37" }] } })],
    expected: /initContainer "fetch-model" has no requests.cpu, requests.memory, limits.cpu, limits.memory/,
    good: () => [deployment({ pod: { initContainers: [{ name: "fetch-model", image: "busybox:1.37", resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "64Mi" } } }] } })],
  },
  {
    rule: workloadsProbes,
    mistake: "a serving container without probes (traffic reaches it before the model is loaded)",
    bad: () => [deployment({ container: { livenessProbe: undefined, readinessProbe: undefined } })],
    expected: /container "serving" has no livenessProbe or readinessProbe/,
    good: () => [deployment(), job({})],
  },
  {
    rule: workloadsNonRoot,
    mistake: "a container running as root",
    bad: () => [deployment({ pod: { securityContext: { seccompProfile: { type: "RuntimeDefault" } } }, container: { securityContext: { runAsUser: 0, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } } } })],
    expected: /may run as root: set runAsNonRoot true[\s\S]*runs as user 0/,
    good: () => [deployment(), job({ securityContext: { runAsNonRoot: true, runAsUser: 10001 } })],
  },
  {
    rule: workloadsRestrictedPodSecurity,
    mistake: "a privileged container with SYS_ADMIN on the host network",
    bad: () => [deployment({ pod: { hostNetwork: true, securityContext: { runAsNonRoot: true } }, container: { securityContext: { privileged: true, capabilities: { add: ["SYS_ADMIN"] } } } })],
    expected: /shares the node's Network namespace[\s\S]*is privileged[\s\S]*may escalate privileges[\s\S]*keeps the default Linux capabilities[\s\S]*adds the capabilities SYS_ADMIN[\s\S]*runs without a seccomp profile/,
    good: () => [deployment()],
  },
  {
    rule: workloadsRestrictedPodSecurity,
    mistake: "a hostPath volume and a host port",
    bad: () => [deployment({ pod: { volumes: [{ name: "docker", hostPath: { path: "/var/run/docker.sock" } }] }, container: { ports: [{ containerPort: 8080, hostPort: 8080 }] } })],
    expected: /volume "docker" is a hostPath volume[\s\S]*binds host port\(s\) 8080/,
    good: () => [deployment({ pod: { volumes: [{ name: "model-cache", emptyDir: { sizeLimit: "2Gi" } }, { name: "keys", secret: { secretName: "api-keys" } }] } })],
  },
  {
    rule: workloadsReadOnlyRootFilesystem,
    mistake: "a writable root filesystem",
    bad: () => [deployment({ container: { securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } } })],
    expected: /container "serving" has a writable root filesystem/,
    good: () => [deployment()],
  },
  {
    rule: workloadsImagePinned,
    mistake: "a :latest image",
    bad: () => [deployment({ container: { image: "ghcr.io/acme/serving:latest" } })],
    expected: /uses "ghcr.io\/acme\/serving:latest": latest is not a version/,
    good: () => [deployment({ container: { image: `${ECR}/serving:0.1.0` } })],
  },
  {
    rule: workloadsImagePinned,
    mistake: "an untagged image from a registry with a port",
    bad: () => [job({ image: "registry.internal:5000/mlops/mlflow" })],
    expected: /uses the untagged image "registry.internal:5000\/mlops\/mlflow" \(that is :latest\)/,
    good: () => [job({ image: `registry.internal:5000/mlops/mlflow@sha256:${"b".repeat(64)}` })],
  },
  {
    rule: workloadsImageProvenance,
    mistake: "a prod image pulled by tag from Docker Hub",
    bad: () => [deployment({ container: { image: "docker.io/library/python:3.12" } })],
    expected: /is not pinned by digest[\s\S]*is not from an allowed registry/,
    good: () => [deployment()],
    params: { allowedRegistries: [ECR], requireDigest: true },
  },
  {
    rule: workloadsImageProvenance,
    mistake: "a registry that only shares a prefix with the allowed one",
    bad: () => [deployment({ container: { image: `${ECR}-untrusted/serving:0.1.0@sha256:${"c".repeat(64)}` } })],
    expected: /is not from an allowed registry/,
    good: () => [deployment({ container: { image: `${ECR}/serving:0.1.0` } })],
    params: { allowedRegistries: [ECR], requireDigest: true },
    goodParams: { allowedRegistries: [ECR], requireDigest: false },
  },
  {
    rule: workloadsHelmChartPinned,
    mistake: "a Helm chart at a version range, overriding an image with latest",
    bad: () => [release({ version: "^79.0.0", values: { grafana: { image: { tag: "latest" } } } })],
    expected: /is not pinned to an exact version \(got "\^79.0.0"\)[\s\S]*overrides grafana.image.tag with "latest"/,
    good: () => [release({ values: { grafana: { image: { tag: "12.2.0" } } } })],
  },
  {
    rule: workloadsHelmChartPinned,
    mistake: "a chart fetched over plain HTTP",
    bad: () => [release({ repositoryOpts: { repo: "http://charts.example.com" } })],
    expected: /insecure or unverifiable source "http:\/\/charts.example.com"/,
    good: () => [release({ chart: "oci://ghcr.io/prometheus-community/charts/kube-prometheus-stack", repositoryOpts: undefined })],
  },
  {
    rule: workloadsNoNodePort,
    mistake: "a NodePort Service, declared or in chart values",
    bad: () => [service({ type: "NodePort" }), release({ values: { grafana: { service: { type: "NodePort" } } } })],
    expected: /is a NodePort[\s\S]*sets grafana.service.type NodePort/,
    good: () => [service({ type: "ClusterIP" })],
  },
  {
    rule: workloadsNoPublicLoadBalancer,
    mistake: "a public LoadBalancer in front of the model server",
    bad: () => [service({ type: "LoadBalancer" })],
    expected: /Service "mlops\/serving-fraud-detector" is a public LoadBalancer/,
    good: () => [service({ type: "LoadBalancer" }, { "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal" })],
  },
  {
    rule: workloadsNoPublicLoadBalancer,
    mistake: "Grafana exposed by a LoadBalancer through the chart's values",
    bad: () => [release({ values: { grafana: { service: { type: "LoadBalancer" } } } })],
    expected: /makes grafana.service a public LoadBalancer/,
    good: () => [release({ values: { grafana: { service: { type: "LoadBalancer", annotations: { "networking.gke.io/load-balancer-type": "Internal" } } } } })],
  },
  {
    rule: workloadsReplicasAndPdb,
    mistake: "one production replica without a PodDisruptionBudget",
    bad: () => [deployment({ replicas: 1 })],
    expected: /runs 1 replica\(s\); at least 2 required[\s\S]*has no PodDisruptionBudget selecting its pods/,
    good: () => [deployment({ replicas: 1 }), hpa(3), pdb({ minAvailable: 2 })],
  },
  {
    rule: workloadsReplicasAndPdb,
    mistake: "a PodDisruptionBudget requiring every pod (node drains hang forever)",
    bad: () => [deployment({ replicas: 2 }), pdb({ minAvailable: "100%" })],
    expected: /requires 2 of 2 pods available \(minAvailable 100%\): node drains and upgrades would hang/,
    good: () => [deployment({ replicas: 1, metadata: { annotations: { [SINGLETON_ANNOTATION]: "keeps the drift windows in memory" } } }), deployment({ replicas: 3 }, { name: "other" }), pdb({ maxUnavailable: 1 })],
  },
  {
    rule: workloadsNoSecretLiterals,
    mistake: "a database password in an env literal",
    bad: () => [deployment({ env: [{ name: "MODEL_URI", value: "models:/fraud-detector@champion" }, { name: "DB_PASSWORD", value: "hunter2" }] })],
    expected: /env DB_PASSWORD holds a literal value; read it from a Secret/,
    good: () => [deployment({ env: [{ name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } }, { name: "API_KEYS_FILE", value: "/etc/keys/keys.json" }, { name: "AWS_ACCESS_KEY_ID", value: "" }] })],
  },
  {
    rule: workloadsNoSecretLiterals,
    mistake: "a connection string with credentials in env and a token on the command line",
    bad: () => [job({ env: [{ name: "BACKEND_STORE_URI", value: "postgresql://mlflow:s3cret@db:5432/mlflow?sslmode=require" }], args: ["--token", "ghp_abc", "--password=hunter2"] })],
    expected: /env BACKEND_STORE_URI holds a URL with a password[\s\S]*argument 0 passes --token[\s\S]*argument 2 passes --password/,
    good: () => [job({ env: [{ name: "BACKEND_STORE_URI", valueFrom: { secretKeyRef: { name: "mlflow-db", key: "uri" } } }], args: ["--password", "$(DB_PASSWORD)", "--host", "0.0.0.0"] })],
  },
  {
    rule: workloadsNoSecretLiterals,
    mistake: "a ConfigMap holding an Azure connection string and Helm values with a literal Grafana password",
    bad: () => [
      resource("kubernetes:core/v1:ConfigMap", { metadata: { name: "settings", namespace: "mlops" }, data: { STORAGE: "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Zm9vYmFy;EndpointSuffix=core.windows.net" } }),
      release({ values: { grafana: { adminPassword: "prom-operator" } } }),
    ],
    expected: /key STORAGE holds a connection string with a password or key[\s\S]*values grafana.adminPassword is a literal secret/,
    good: () => [
      release({
        values: {
          grafana: {
            admin: { existingSecret: "grafana-admin", userKey: "admin-user", passwordKey: "admin-password" },
            // A toleration's key names a taint: not a secret.
            tolerations: [{ key: "kubernetes.azure.com/scalesetpriority", operator: "Equal", value: "spot", effect: "NoSchedule" }],
          },
        },
      }),
    ],
  },
  {
    rule: workloadsNoCredentialUrls,
    mistake: "a retraining webhook with a token in its query and drift webhooks with user info, in plain env",
    bad: () => [
      deployment({ env: [{ name: "RETRAIN_WEBHOOK_URL", value: "https://ci.example.com/hooks/retrain?ref=main&token=glptt-abc123" }] }, { name: "monitor" }),
      job({ env: [{ name: "WEBHOOK_URLS", value: "https://hooks.example.com/a,https://bot:hunter2@hooks.example.com/b" }] }),
    ],
    expected: /env RETRAIN_WEBHOOK_URL holds a URL with a credential: https:\/\/ci.example.com\.\.\. carries the query parameter "token"[\s\S]*env WEBHOOK_URLS holds a URL with a credential: https:\/\/hooks.example.com\.\.\. carries user info/,
    good: () => [
      deployment({ env: [{ name: "RETRAIN_WEBHOOK_URL", valueFrom: { secretKeyRef: { name: "monitor-webhooks", key: "retrain" } } }, { name: "EVENT_SINKS", value: "http://drift.mlops.svc.cluster.local:8080,http://monitor.mlops.svc.cluster.local:8080" }] }),
      job({ env: [{ name: "CALLBACK", value: "https://ci.example.com/hooks?ref=main&page=2#token=x" }, { name: "HOOK", value: "https://ci.example.com/retrain?token=$(RETRAIN_TOKEN)" }] }),
    ],
  },
  {
    rule: workloadsNoCredentialUrls,
    mistake: "an Azure SAS URL inside JSON in an init container of a CronJob",
    bad: () => [
      resource("kubernetes:batch/v1:CronJob", {
        metadata: { name: "export", namespace: "mlops" },
        spec: { schedule: "0 * * * *", jobTemplate: { spec: { template: { spec: { initContainers: [{ name: "fetch", image: "registry/x:1", env: [{ name: "TARGETS", value: '[{"url":"https://acct.blob.core.windows.net/c?sv=2024-01-01&sig=AbC%2Bd"}]' }] }], containers: [{ name: "run", image: "registry/x:1" }] } } } } },
      }),
    ],
    expected: /CronJob "mlops\/export": initContainer "fetch": env TARGETS holds a URL with a credential: https:\/\/acct.blob.core.windows.net\.\.\. carries the query parameter "sig"/,
    good: () => [resource("kubernetes:batch/v1:CronJob", { metadata: { name: "export", namespace: "mlops" }, spec: { schedule: "0 * * * *", jobTemplate: { spec: { template: { spec: { containers: [{ name: "run", image: "registry/x:1", env: [{ name: "TARGETS", value: '[{"url":"https://acct.blob.core.windows.net/c"}]' }] }] } } } } } })],
  },
  {
    rule: workloadsNoClusterAdmin,
    mistake: "a cluster-admin binding for a workload service account",
    bad: () => [binding("cluster-admin", [{ kind: "ServiceAccount", name: "serving", namespace: "mlops" }])],
    expected: /gives service account mlops\/serving the ClusterRole "cluster-admin"/,
    good: () => [binding("view", [{ kind: "ServiceAccount", name: "serving", namespace: "mlops" }]), binding("cluster-admin", [{ kind: "Group", name: "platform-admins", apiGroup: "rbac.authorization.k8s.io" }])],
  },
  {
    rule: workloadsNoClusterAdmin,
    mistake: "a home-made wildcard ClusterRole bound to every service account of a namespace",
    bad: () => [
      resource("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", { metadata: { name: "do-anything" }, rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }] }),
      binding("do-anything", [{ kind: "Group", name: "system:serviceaccounts:mlops" }], "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"),
    ],
    expected: /gives group system:serviceaccounts:mlops the ClusterRole "do-anything"/,
    good: () => [resource("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", { metadata: { name: "read-pods" }, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] }] }), binding("read-pods", [{ kind: "ServiceAccount", name: "monitor", namespace: "mlops" }])],
  },
  {
    rule: workloadsServiceAccountToken,
    mistake: "a model server mounting an API token it never uses",
    bad: () => [deployment({ pod: { automountServiceAccountToken: undefined } })],
    expected: /mounts a Kubernetes API token it does not use/,
    good: () => [deployment(), deployment({ pod: { automountServiceAccountToken: true }, metadata: { annotations: { "mlops.io/kubernetes-api-reason": "watches ConfigMaps of models" } } })],
  },
  {
    rule: workloadsNoDefaultNamespace,
    mistake: "a Deployment without a namespace (it lands in default)",
    bad: () => [deployment({ metadata: { namespace: undefined } })],
    expected: /runs in the default namespace/,
    good: () => [deployment()],
  },
];

runCases("workloads", workloadsRules, cases);

test("a Deployment without a namespace passes when its provider sets one", async () => {
  const provider = resource("pulumi:providers:kubernetes", { namespace: "mlops" }, { name: "k8s", custom: true });
  const d = deployment({ metadata: { namespace: undefined } }, { provider: `${provider.urn}::k8s-id` });
  expect(await check(workloadsNoDefaultNamespace, [provider, d])).toEqual([]);
});

test("an image computed from an output is reported as unverifiable, not passed", async () => {
  const violations = await check(workloadsImagePinned, [deployment({ container: { image: UNKNOWN } })]);
  expect(messages(violations)).toEqual([expect.stringMatching(/^cannot be verified until \.spec\.template\.spec\.containers\[0\]\.image is known/)]);
  expect(violations[0].level).toBe("mandatory");
});

test("secret names are judged by their words", () => {
  for (const name of ["DB_PASSWORD", "PGPASSWORD", "MLFLOW_TRACKING_TOKEN", "WEBHOOK_SECRET", "AWS_SECRET_ACCESS_KEY", "API_KEY", "KEY", "clientSecret", "adminPassword"]) expect([name, isSecretName(name)]).toEqual([name, true]);
  for (const name of ["API_KEYS_FILE", "AWS_ACCESS_KEY_ID", "SECRET_NAME", "MODEL_KEY", "existingSecret", "passwordKey", "userKey", "bearer_token_file", "MLFLOW_TRACKING_USERNAME", "TOKENIZER", "PASSWORD_FILE"]) expect([name, isSecretName(name)]).toEqual([name, false]);
});

test("image references split into repository, tag and digest", () => {
  expect(parseImage("registry:5000/team/app")).toEqual({ repository: "registry:5000/team/app", digest: undefined });
  expect(parseImage(`registry:5000/team/app:1.2@sha256:${"d".repeat(64)}`)).toEqual({ repository: "registry:5000/team/app", tag: "1.2", digest: `sha256:${"d".repeat(64)}` });
});

test("prod.json's allowed registries take the prod stacks' ECR and Artifact Registry paths, not look-alikes", async () => {
  const prod = require("../../policies/config/prod.json")["workloads-image-provenance"] as Record<string, unknown>;
  const digest = `@sha256:${"d".repeat(64)}`;
  const withImage = (image: string) => deployment({ container: { image } });
  for (const image of [`${ECR}/serving:0.1.0${digest}`, `europe-west4-docker.pkg.dev/acme-mlops-prod/mlops/serving:0.1.0${digest}`]) {
    expect(messages(await check(workloadsImageProvenance, [withImage(image)], prod))).toEqual([]);
  }
  for (const image of [`europe-west4-docker.pkg.dev/acme-mlops-prod/mlops-scratch/serving:0.1.0${digest}`, `europe-west4-docker.pkg.dev/acme-mlops-dev/mlops/serving:0.1.0${digest}`]) {
    expect(messages(await check(workloadsImageProvenance, [withImage(image)], prod))).toEqual([expect.stringContaining("is not from an allowed registry")]);
  }
});

test("credential URLs: user info and parameters named like credentials, never the credential in the message", () => {
  for (const name of ["token", "access_token", "api_key", "apiKey", "key", "client_secret", "password", "sig", "X-Amz-Signature", "X-Amz-Credential"]) expect([name, isCredentialParameter(name)]).toEqual([name, true]);
  for (const name of ["ref", "page", "model", "version", "keyboard", "signal", "tokenizer", "sv"]) expect([name, isCredentialParameter(name)]).toEqual([name, false]);
  expect(credentialUrlsIn("https://x-access-token:ghs_secret@github.com/org/repo.git")).toEqual(["https://github.com... carries user info (scheme://user:password@host)"]);
  expect(credentialUrlsIn("https://ghp_abcdef@github.com/org/repo")).toEqual(["https://github.com... carries user info (scheme://user:password@host)"]);
  expect(credentialUrlsIn("postgresql://u:p@db:5432/x")).toHaveLength(1);
  expect(credentialUrlsIn("https://hooks.slack.com/services/T0/B0/xyz?a=1&Signature=s%3D")).toEqual(['https://hooks.slack.com... carries the query parameter "Signature"']);
  expect(credentialUrlsIn("https://host/path@not-userinfo?token=")).toEqual([]);
  expect(credentialUrlsIn("models:/fraud-detector@champion")).toEqual([]);
  expect(credentialUrlsIn("https://example.com/a,https://example.com/b?token=x").join()).not.toContain("token=x");
});

test("the rule passes on the platform's own workloads, on every stack", async () => {
  const stacks = listStacks();
  expect(stacks.length).toBe(7);
  for (const stack of stacks) {
    const result = await plan({ stack });
    expect([stack, messages(await check(workloadsNoCredentialUrls, result.resources))]).toEqual([stack, []]);
  }
});

test("the rule passes on the platform with webhook URLs carrying tokens: the stack config's URLs reach the pods through Secrets", async () => {
  const models = [
    { name: "fraud-detector", uri: "models:/fraud-detector@champion", drift: { webhookUrl: "https://hooks.example.com/drift?token=t0ps3cret" }, alertActions: [{ alert: "ModelQualityLow", action: "retrain" }], retrainWebhookUrl: "https://ci:hunter2@ci.example.com/retrain" },
  ];
  const result = await plan({ stack: "dev", overrides: { "mlops:models": JSON.stringify(models) } });
  expect(messages(await check(workloadsNoCredentialUrls, result.resources))).toEqual([]);
  // Seeded back into a plain env value, the same URL is caught.
  const drift = result.resources.find((r) => r.type === DEPLOYMENT && r.inputs.metadata.name === "drift-fraud-detector")!;
  const seeded = JSON.parse(JSON.stringify(drift));
  seeded.inputs.spec.template.spec.containers[0].env.push({ name: "WEBHOOK_URLS", value: "https://hooks.example.com/drift?token=t0ps3cret" });
  expect(messages(await check(workloadsNoCredentialUrls, [seeded]))).toEqual([expect.stringContaining('env WEBHOOK_URLS holds a URL with a credential: https://hooks.example.com... carries the query parameter "token"')]);
});
