// The pack `pulumi preview --policy-pack policies` loads. It only assembles the rules: tests and the
// offline gate (scripts/plan/policy-gate.ts) use rules/ directly and never start a PolicyPack, which
// would open the gRPC server the Pulumi CLI talks to.
import { PolicyPack } from "@pulumi/policy";
import { allRules } from "./rules";

new PolicyPack("mlops-platform", {
  policies: allRules,
  // Without --policy-pack-config each rule keeps its own level; config/dev.json and config/prod.json decide per environment.
  enforcementLevel: "advisory",
  description: "Governance of the MLOps platform: storage, databases, clusters, workloads, tags and the ML rules (drift, monitoring, registry-only models, canary share).",
});
