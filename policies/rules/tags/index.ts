import type { Rule } from "../support/define";
import { tagsCloudRequired } from "./cloud-tags";
import { tagsKubernetesLabels } from "./kubernetes-labels";

export const tagsRules: Rule[] = [tagsCloudRequired, tagsKubernetesLabels];
