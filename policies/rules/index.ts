import { backupsRules } from "./backups";
import { clusterRules } from "./cluster";
import { databaseRules } from "./database";
import { endpointsRules } from "./endpoints";
import { mlRules } from "./ml";
import { storageRules } from "./storage";
import type { Rule } from "./support/define";
import { tagsRules } from "./tags";
import { workloadsRules } from "./workloads";

export type { Rule } from "./support/define";

/** Every rule of the pack, by area (the README's table follows this order). */
export const rulesByArea: Record<string, Rule[]> = {
  storage: storageRules,
  database: databaseRules,
  cluster: clusterRules,
  backups: backupsRules,
  workloads: workloadsRules,
  endpoints: endpointsRules,
  tags: tagsRules,
  ml: mlRules,
};

export const allRules: Rule[] = Object.values(rulesByArea).flat();
