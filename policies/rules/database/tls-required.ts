import * as aws from "@pulumi/aws";
import type { PolicyResource } from "@pulumi/policy";
import { checkEach, peek, stackRule } from "../support/define";
import { platform } from "../support/frameworks";
import { referencedBy, referencing } from "../support/references";
import { azure, gcp } from "../support/types";

/** The TLS switch of each engine's parameter group, and its default when the group does not set it. */
const TLS_PARAMETER: Record<string, { name: string; on: string[]; defaultOn: (major: number) => boolean }> = {
  // RDS for PostgreSQL turns rds.force_ssl on by default from major version 15.
  postgres: { name: "rds.force_ssl", on: ["1"], defaultOn: (major) => major >= 15 },
  mysql: { name: "require_secure_transport", on: ["1", "ON", "on"], defaultOn: () => false },
  mariadb: { name: "require_secure_transport", on: ["1", "ON", "on"], defaultOn: () => false },
  "aurora-postgresql": { name: "rds.force_ssl", on: ["1"], defaultOn: () => false },
  "aurora-mysql": { name: "require_secure_transport", on: ["1", "ON", "on"], defaultOn: () => false },
};

function parameter(group: PolicyResource, name: string): string | undefined {
  const entry = (group.props.parameters ?? []).find((p: { name: string }) => p.name === name);
  return entry === undefined ? undefined : String(entry.value);
}

function checkRds(db: PolicyResource, groups: PolicyResource[], groupProperty: string, label: string, report: (m: string) => void): void {
  const engine: string = db.props.engine ?? "postgres";
  const tls = TLS_PARAMETER[engine];
  if (!tls) return;
  const major = parseInt(String(db.props.engineVersion ?? "0"), 10);
  // Unset, the group name is an output the provider fills with the engine's default group.
  const groupName: string | undefined = groups.length ? undefined : peek(() => db.props[groupProperty]);
  if (groups.length === 0 && groupName && !groupName.startsWith("default.")) {
    report(`${label} uses parameter group "${groupName}", which this stack does not declare: its ${tls.name} cannot be verified; declare the group in the stack`);
    return;
  }
  const value = groups.length ? parameter(groups[0], tls.name) : undefined;
  const on = value !== undefined ? tls.on.includes(value) : tls.defaultOn(major);
  if (on) return;
  const where = groups.length ? `parameter group "${groups[0].name}"` : "the default parameter group";
  report(`${label} accepts unencrypted connections: ${where} ${value === undefined ? `leaves ${tls.name} at its default (off for ${engine} ${major || ""})`.trim() : `sets ${tls.name} = ${value}`}; set ${tls.name} = ${tls.on[0]}`);
}

export const databaseTlsRequired = stackRule(
  {
    name: "database-tls-required",
    description:
      "Databases refuse connections without TLS, so credentials and predictions never cross the network in clear text. RDS and Aurora force it through their parameter group (rds.force_ssl = 1 for PostgreSQL, which RDS sets by default from version 15; require_secure_transport for MySQL), Cloud SQL through sslMode ENCRYPTED_ONLY, and Azure PostgreSQL keeps require_secure_transport on with TLS 1.2 or newer.",
    severity: "high",
    framework: platform("Encryption in transit for database connections (CIS GCP 6.4: Cloud SQL requires SSL for incoming connections)"),
    clouds: ["aws", "gcp", "azure"],
    enforcementLevel: "mandatory",
    remediationSteps:
      "AWS: give the instance an aws.rds.ParameterGroup with rds.force_ssl = 1 (PostgreSQL) or require_secure_transport = 1 (MySQL). GCP: settings.ipConfiguration.sslMode \"ENCRYPTED_ONLY\". Azure: do not set require_secure_transport to off; keep ssl_min_protocol_version at TLSv1.2 or higher.",
  },
  (args, report) => {
    const resources = args.resources;
    checkEach(resources.filter((r) => r.isType(aws.rds.Instance)), report, (db, reportHere) => {
      const found = referencedBy(resources, db, "parameterGroupName", [aws.rds.ParameterGroup], ["name", "id"]);
      checkRds(db, found, "parameterGroupName", `RDS instance "${db.name}"`, reportHere);
    });
    checkEach(resources.filter((r) => r.isType(aws.rds.Cluster)), report, (db, reportHere) => {
      const found = referencedBy(resources, db, "dbClusterParameterGroupName", [aws.rds.ClusterParameterGroup], ["name", "id"]);
      checkRds(db, found, "dbClusterParameterGroupName", `Aurora cluster "${db.name}"`, reportHere);
    });
    checkEach(resources.filter((r) => r.isType(gcp.sqlInstance)), report, (db, reportHere) => {
      const ip = db.props.settings?.ipConfiguration ?? {};
      // sslMode is the only TLS switch of settings.ipConfiguration (@pulumi/gcp 9.x has no requireSsl).
      const enforced = ["ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"].includes(ip.sslMode);
      if (!enforced) reportHere(`Cloud SQL instance "${db.name}" accepts unencrypted connections (sslMode ${ip.sslMode ?? "ALLOW_UNENCRYPTED_AND_ENCRYPTED"}): set sslMode "ENCRYPTED_ONLY"`);
    });
    checkEach(resources.filter((r) => r.isType(azure.postgresServer)), report, (db, reportHere) => {
      for (const setting of referencing(resources, [azure.postgresConfiguration], "serverName", db, ["name"])) {
        const name = setting.props.configurationName ?? setting.props.name;
        const value = String(setting.props.value ?? "").toLowerCase();
        if (name === "require_secure_transport" && value === "off") reportHere(`PostgreSQL flexible server "${db.name}" turns require_secure_transport off in "${setting.name}"`);
        if (name === "ssl_min_protocol_version" && ["tlsv1", "tlsv1.1"].includes(value)) reportHere(`PostgreSQL flexible server "${db.name}" accepts ${setting.props.value}: use TLSv1.2 or newer`);
      }
    });
  },
);
