import type { Rule } from "../support/define";
import { databaseBackupRetention } from "./backup-retention";
import { databaseDeletionProtection } from "./deletion-protection";
import { databaseEncrypted } from "./encrypted";
import { databaseHighAvailability } from "./high-availability";
import { databaseNotPublic } from "./not-public";
import { databaseTlsRequired } from "./tls-required";

export const databaseRules: Rule[] = [databaseNotPublic, databaseEncrypted, databaseTlsRequired, databaseBackupRetention, databaseHighAvailability, databaseDeletionProtection];
