import type { Rule } from "../support/define";
import { storageEncryption } from "./encryption";
import { storageIamOnlyAccess } from "./iam-only-access";
import { storageKmsKeyRotation } from "./kms-key-rotation";
import { storageLifecycle } from "./lifecycle";
import { storageNoForceDestroy } from "./no-force-destroy";
import { storageNoPublicAccess } from "./no-public-access";
import { storageTlsOnly } from "./tls-only";
import { storageVersioning } from "./versioning";

export const storageRules: Rule[] = [
  storageNoPublicAccess,
  storageIamOnlyAccess,
  storageEncryption,
  storageTlsOnly,
  storageVersioning,
  storageLifecycle,
  storageNoForceDestroy,
  storageKmsKeyRotation,
];
