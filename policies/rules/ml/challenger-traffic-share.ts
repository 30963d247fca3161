import { resourceRule } from "../support/define";
import { platform } from "../support/frameworks";
import { envSource } from "../support/kubernetes";
import { forWorkloads } from "../support/workloads";
import { asServing, ML_CONVENTION_SCHEMA, type MlConventions } from "./recognise";

interface Params extends MlConventions {
  maxSharePercent: number;
}

const TRUE = ["true", "1", "yes"];

export const mlChallengerTrafficShare = resourceRule(
  {
    name: "ml-challenger-traffic-share",
    description:
      "A challenger model never answers more than maxSharePercent percent of live traffic (10 in production, the product's canary cap): CHALLENGER_WEIGHT is a literal number within the limit. Shadow mode (SHADOW=true), where the challenger sees traffic but never answers, is always allowed and must carry weight 0. An unproven model must not decide for most customers before its canary has been observed.",
    severity: "high",
    framework: platform("Progressive delivery of models: bounded canary share"),
    clouds: ["kubernetes"],
    enforcementLevel: "mandatory",
    configSchema: { properties: { ...ML_CONVENTION_SCHEMA, maxSharePercent: { type: "number", minimum: 0, maximum: 100, default: 10 } } },
    remediationSteps: "Lower mlops:models[].challenger.weight to the limit, use shadow: true to observe a challenger without answering, or promote it by moving the champion alias.",
  },
  forWorkloads((workload, args, report) => {
    const params = args.getConfig<Params>();
    const serving = asServing(workload.type, workload.props, params);
    if (!serving?.main) return;
    const weight = envSource(serving.main, "CHALLENGER_WEIGHT");
    const shadow = envSource(serving.main, "SHADOW");
    if (!weight) return; // serving's default weight is 0
    if ("from" in weight) {
      report(`${serving.label}: CHALLENGER_WEIGHT comes from ${weight.from}, which a policy cannot read: set it as a literal percentage`);
      return;
    }
    const share = Number(weight.literal);
    if (weight.literal.trim() === "" || !Number.isFinite(share)) {
      report(`${serving.label}: CHALLENGER_WEIGHT "${weight.literal}" is not a percentage`);
      return;
    }
    const isShadow = Boolean(shadow && "literal" in shadow && TRUE.includes(shadow.literal.toLowerCase()));
    if (isShadow) {
      if (share !== 0) report(`${serving.label} runs its challenger in shadow mode with CHALLENGER_WEIGHT ${share}: a shadow challenger answers no traffic, set the weight to 0`);
      return;
    }
    if (share > params.maxSharePercent) report(`${serving.label} sends ${share}% of live traffic to its challenger; at most ${params.maxSharePercent}% allowed in this environment`);
  }),
);
