import * as aws from "@pulumi/aws";
import { validateResourceOfType } from "@pulumi/policy";
import { resourceRule } from "../support/define";
import { platform } from "../support/frameworks";
import { azure, gcp } from "../support/types";

export const databaseHighAvailability = resourceRule(
  {
    name: "database-high-availability",
    description:
      "Production databases survive the loss of a zone with a synchronous standby in another zone: RDS Multi-AZ, Cloud SQL availabilityType REGIONAL, Azure PostgreSQL high availability ZoneRedundant. MLflow and the monitor stop when their database stops, and serving cannot resolve a moved alias.",
    severity: "high",
    framework: platform("Zone-redundant databases in production"),
    clouds: ["aws", "gcp", "azure"],
    enforcementLevel: "advisory",
    remediationSteps: "AWS: multiAz true. GCP: settings.availabilityType \"REGIONAL\". Azure: highAvailability.mode \"ZoneRedundant\".",
  },
  [
    validateResourceOfType(aws.rds.Instance, (db, args, report) => {
      if (db.multiAz !== true) report(`RDS instance "${args.name}" runs in one availability zone: set multiAz true`);
    }),
    validateResourceOfType(gcp.sqlInstance, (db, args, report) => {
      if (db.settings?.availabilityType !== "REGIONAL") report(`Cloud SQL instance "${args.name}" is zonal: set settings.availabilityType "REGIONAL"`);
    }),
    validateResourceOfType(azure.postgresServer, (db, args, report) => {
      if (db.highAvailability?.mode !== "ZoneRedundant") report(`PostgreSQL flexible server "${args.name}" has no zone-redundant standby (highAvailability.mode ${db.highAvailability?.mode ?? "Disabled"}): set "ZoneRedundant"`);
    }),
  ],
);
