import * as aws from "@pulumi/aws";
import { checkEach, stackRule } from "../support/define";
import { platform } from "../support/frameworks";
import { referencing } from "../support/references";
import { azure, gcp } from "../support/types";

interface Params {
  requirePulumiProtect: boolean;
}

export const databaseDeletionProtection = stackRule(
  {
    name: "database-deletion-protection",
    description:
      "A production database cannot be deleted by accident, neither by the cloud API nor by a deployment. RDS and Aurora have deletionProtection on and take a final snapshot; Cloud SQL has deletion protection on at both the provider and the API; an Azure PostgreSQL flexible server (which has no such flag) is protected by a CanNotDelete lock or by Pulumi's protect option. With requirePulumiProtect, every database also carries protect: true, so a replacement or `pulumi destroy` stops before it.",
    severity: "high",
    framework: platform("Production data is never deleted by a deployment"),
    clouds: ["aws", "gcp", "azure"],
    enforcementLevel: "advisory",
    configSchema: { properties: { requirePulumiProtect: { type: "boolean", default: true } } },
    remediationSteps:
      "AWS: deletionProtection true, skipFinalSnapshot false with a finalSnapshotIdentifier, and the resource option protect: true. GCP: deletionProtection true and settings.deletionProtectionEnabled true. Azure: protect: true or an azure-native authorization.ManagementLockAtResourceLevel with level CanNotDelete.",
  },
  (args, report) => {
    const { requirePulumiProtect } = args.getConfig<Params>();
    const resources = args.resources;
    const protect = (db: { opts: { protect?: boolean }; name: string }, label: string, reportHere: (m: string) => void) => {
      if (requirePulumiProtect && db.opts.protect !== true) reportHere(`${label} is not protected in Pulumi: give it the resource option protect: true`);
    };
    checkEach(resources.filter((r) => r.isType(aws.rds.Instance) || r.isType(aws.rds.Cluster)), report, (db, reportHere) => {
      const label = `${db.isType(aws.rds.Cluster) ? "Aurora cluster" : "RDS instance"} "${db.name}"`;
      if (db.props.deletionProtection !== true) reportHere(`${label} can be deleted through the API: set deletionProtection true`);
      if (db.props.skipFinalSnapshot === true) reportHere(`${label} skips its final snapshot: a deletion would lose the data; set skipFinalSnapshot false and a finalSnapshotIdentifier`);
      protect(db, label, reportHere);
    });
    checkEach(resources.filter((r) => r.isType(gcp.sqlInstance)), report, (db, reportHere) => {
      const label = `Cloud SQL instance "${db.name}"`;
      if (db.props.deletionProtection === false) reportHere(`${label} sets deletionProtection false: the provider would delete it on destroy or replace`);
      if (db.props.settings?.deletionProtectionEnabled !== true) reportHere(`${label} can be deleted through the API: set settings.deletionProtectionEnabled true`);
      protect(db, label, reportHere);
    });
    checkEach(resources.filter((r) => r.isType(azure.postgresServer)), report, (db, reportHere) => {
      const label = `PostgreSQL flexible server "${db.name}"`;
      const locked = referencing(resources, [azure.managementLock], "resourceName", db, ["name"]).some((l) => l.props.level === "CanNotDelete");
      if (!locked && db.opts.protect !== true) reportHere(`${label} has neither a CanNotDelete lock nor protect: true`);
      else protect(db, label, reportHere);
    });
  },
);
