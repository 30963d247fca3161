import * as k8s from "@pulumi/kubernetes";
import { validateResourceOfType } from "@pulumi/policy";
import { resourceRule } from "../support/define";
import { cisKubernetes } from "../support/frameworks";
import { describeObject } from "../support/kubernetes";
import { resourceType } from "../support/types";
import { servicesInValues } from "./services";

export const workloadsNoNodePort = resourceRule(
  {
    name: "workloads-no-nodeport",
    description:
      "No Service is of type NodePort, neither declared nor set in a Helm chart's values: a NodePort opens the port on every node's address, around the load balancers and often around the network policies of the cloud's security groups.",
    severity: "medium",
    framework: cisKubernetes("5.7 General policies: minimize the exposure of node ports"),
    clouds: ["kubernetes"],
    enforcementLevel: "mandatory",
    remediationSteps: "Use a ClusterIP Service behind an ingress controller or an internal load balancer.",
  },
  [
    validateResourceOfType(k8s.core.v1.Service, (service, args, report) => {
      if (service.spec?.type === "NodePort") report(`${describeObject(args.type, service)} is a NodePort: use ClusterIP behind an ingress or an internal load balancer`);
    }),
    validateResourceOfType(resourceType("kubernetes:helm.sh/v3:Release"), (release, args, report) => {
      for (const s of servicesInValues(release.values).filter((x) => x.type === "NodePort")) report(`Helm release "${args.name}" sets ${s.path}.type NodePort`);
    }),
  ],
);
