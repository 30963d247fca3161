import type { Rule } from "../support/define";
import { backupsVeleroSchedule } from "./velero-schedule";

export const backupsRules: Rule[] = [backupsVeleroSchedule];
