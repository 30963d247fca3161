import { resourceRule } from "../support/define";
import { platform } from "../support/frameworks";
import { envSource } from "../support/kubernetes";
import { forWorkloads } from "../support/workloads";
import { asServing, ML_CONVENTION_SCHEMA, type MlConventions } from "./recognise";

interface Params extends MlConventions {
  maxSharePercent: number;
}

const TRUE = ["true", "1", "yes"];
/** `models:/<name>@<alias>`: serving reads the registered model's weight tag at each poll. */
const REGISTRY_ALIAS = /^models:\/[^/@]+@[^/@]+$/;

export const mlChallengerTrafficShare = resourceRule(
  {
    name: "ml-challenger-traffic-share",
    description:
      "A challenger model never answers more than maxSharePercent percent of live traffic (10 in production, the product's canary cap): CHALLENGER_WEIGHT is a literal number within the limit, and a challenger that follows a registry alias (whose weight a deploy may change through the mlops.challenger_weight tag) carries MAX_CHALLENGER_WEIGHT within it. Shadow mode (SHADOW=true), where the challenger sees traffic but never answers, is always allowed and must carry weight 0. An unproven model must not decide for most customers before its canary has been observed.",
    severity: "high",
    framework: platform("Progressive delivery of models: bounded canary share"),
    clouds: ["kubernetes"],
    enforcementLevel: "mandatory",
    configSchema: { properties: { ...ML_CONVENTION_SCHEMA, maxSharePercent: { type: "number", minimum: 0, maximum: 100, default: 10 } } },
    remediationSteps:
      "Lower mlops:models[].challenger.weight to the limit (and MAX_CHALLENGER_WEIGHT, which the platform derives from the environment's cap), use shadow: true to observe a challenger without answering, or promote it by moving the champion alias.",
  },
  forWorkloads((workload, args, report) => {
    const params = args.getConfig<Params>();
    const serving = asServing(workload.type, workload.props, params);
    if (!serving?.main) return;
    const weight = envSource(serving.main, "CHALLENGER_WEIGHT");
    const shadow = envSource(serving.main, "SHADOW");
    const isShadow = Boolean(shadow && "literal" in shadow && TRUE.includes(shadow.literal.toLowerCase()));
    if (!isShadow) checkTagCap(serving.label, serving.main, params.maxSharePercent, report);
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
    if (isShadow) {
      if (share !== 0) report(`${serving.label} runs its challenger in shadow mode with CHALLENGER_WEIGHT ${share}: a shadow challenger answers no traffic, set the weight to 0`);
      return;
    }
    if (share > params.maxSharePercent) report(`${serving.label} sends ${share}% of live traffic to its challenger; at most ${params.maxSharePercent}% allowed in this environment`);
  }),
);

/** A registry alias challenger's weight follows the registry tag up to MAX_CHALLENGER_WEIGHT (serving's default: 100). */
function checkTagCap(label: string, container: Parameters<typeof envSource>[0], max: number, report: (message: string) => void): void {
  const uri = envSource(container, "CHALLENGER_URI");
  if (!uri || !("literal" in uri) || !REGISTRY_ALIAS.test(uri.literal)) return;
  const cap = envSource(container, "MAX_CHALLENGER_WEIGHT");
  if (!cap) {
    report(`${label} follows the challenger alias ${uri.literal} without MAX_CHALLENGER_WEIGHT: a deploy's mlops.challenger_weight tag could send it up to 100% of live traffic; set it to at most ${max}`);
    return;
  }
  if ("from" in cap) {
    report(`${label}: MAX_CHALLENGER_WEIGHT comes from ${cap.from}, which a policy cannot read: set it as a literal percentage`);
    return;
  }
  const share = Number(cap.literal);
  if (cap.literal.trim() === "" || !Number.isFinite(share)) report(`${label}: MAX_CHALLENGER_WEIGHT "${cap.literal}" is not a percentage`);
  else if (share > max) report(`${label} lets a deploy give its challenger up to ${share}% of live traffic (MAX_CHALLENGER_WEIGHT); at most ${max}% allowed in this environment`);
}
