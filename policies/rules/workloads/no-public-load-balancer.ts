import * as k8s from "@pulumi/kubernetes";
import { validateResourceOfType } from "@pulumi/policy";
import { resourceRule } from "../support/define";
import { platform } from "../support/frameworks";
import { describeObject } from "../support/kubernetes";
import { resourceType } from "../support/types";
import { isInternal, servicesInValues } from "./services";

const HINT = 'annotate it internal (service.beta.kubernetes.io/aws-load-balancer-scheme: internal on AWS, networking.gke.io/load-balancer-type: Internal on GKE, service.beta.kubernetes.io/azure-load-balancer-internal: "true" on AKS)';

export const workloadsNoPublicLoadBalancer = resourceRule(
  {
    name: "workloads-no-public-load-balancer",
    description:
      "A LoadBalancer Service is internal, whether declared or set in a Helm chart's values: model endpoints, MLflow and Grafana are never put on the internet by a Service. Public exposure, when wanted, goes through a reviewed ingress with authentication and a WAF, not a Service type.",
    severity: "critical",
    framework: platform("No unauthenticated internet exposure of platform endpoints"),
    clouds: ["kubernetes"],
    enforcementLevel: "mandatory",
    remediationSteps: `Use ClusterIP, or ${HINT}.`,
  },
  [
    validateResourceOfType(k8s.core.v1.Service, (service, args, report) => {
      if (service.spec?.type !== "LoadBalancer") return;
      if (!isInternal(service.metadata?.annotations as Record<string, string> | undefined)) report(`${describeObject(args.type, service)} is a public LoadBalancer: ${HINT}`);
    }),
    validateResourceOfType(resourceType("kubernetes:helm.sh/v3:Release"), (release, args, report) => {
      for (const s of servicesInValues(release.values).filter((x) => x.type === "LoadBalancer")) {
        if (!isInternal(s.annotations)) report(`Helm release "${args.name}" makes ${s.path} a public LoadBalancer: ${HINT}`);
      }
    }),
  ],
);
