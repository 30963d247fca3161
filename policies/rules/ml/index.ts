import type { Rule } from "../support/define";
import { mlAlertsHaveRunbooks } from "./alerts-have-runbooks";
import { mlChallengerTrafficShare } from "./challenger-traffic-share";
import { mlRegistryModelsOnly } from "./registry-models-only";
import { mlServingHasDriftDetector } from "./serving-has-drift-detector";
import { mlServingMonitored } from "./serving-monitored";

export const mlRules: Rule[] = [mlServingHasDriftDetector, mlServingMonitored, mlRegistryModelsOnly, mlChallengerTrafficShare, mlAlertsHaveRunbooks];
