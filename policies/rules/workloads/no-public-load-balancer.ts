import * as k8s from "@pulumi/kubernetes";
import { validateResourceOfType } from "@pulumi/policy";
import { resourceRule } from "../support/define";
import { platform } from "../support/frameworks";
import { describeObject } from "../support/kubernetes";
import { resourceType } from "../support/types";
import { isInternal, isPublicEntryPoint, servicesInValues } from "./services";

const HINT = 'annotate it internal (service.beta.kubernetes.io/aws-load-balancer-scheme: internal on AWS, networking.gke.io/load-balancer-type: Internal on GKE, service.beta.kubernetes.io/azure-load-balancer-internal: "true" on AKS)';

export const workloadsNoPublicLoadBalancer = resourceRule(
  {
    name: "workloads-no-public-load-balancer",
    description:
      "A LoadBalancer Service is internal, whether declared or set in a Helm chart's values: model endpoints, MLflow and Grafana are never put on the internet by a Service. Public exposure, when wanted, goes through the platform's ingress controller: its Service states why in the annotation mlops.io/public-entry-point, and endpoints-tls-and-hostname then requires TLS and host names of it and of every Ingress behind it.",
    severity: "critical",
    framework: platform("No unauthenticated internet exposure of platform endpoints"),
    clouds: ["kubernetes"],
    enforcementLevel: "mandatory",
    remediationSteps: `Use ClusterIP, or ${HINT}.`,
  },
  [
    validateResourceOfType(k8s.core.v1.Service, (service, args, report) => {
      if (service.spec?.type !== "LoadBalancer") return;
      const annotations = service.metadata?.annotations as Record<string, string> | undefined;
      if (!isInternal(annotations) && !isPublicEntryPoint(annotations)) report(`${describeObject(args.type, service)} is a public LoadBalancer: ${HINT}`);
    }),
    validateResourceOfType(resourceType("kubernetes:helm.sh/v3:Release"), (release, args, report) => {
      for (const s of servicesInValues(release.values).filter((x) => x.type === "LoadBalancer")) {
        if (!isInternal(s.annotations) && !isPublicEntryPoint(s.annotations)) report(`Helm release "${args.name}" makes ${s.path} a public LoadBalancer: ${HINT}`);
      }
    }),
  ],
);
