import * as aws from "@pulumi/aws";
import { validateResourceOfType } from "@pulumi/policy";
import { resourceRule } from "../support/define";
import { cisAws } from "../support/frameworks";
import { isAnyAddress } from "../support/cidr";
import { azure, gcp } from "../support/types";

export const databaseNotPublic = resourceRule(
  {
    name: "database-not-public",
    description:
      "Managed databases are reachable only from private networks. An RDS instance is never publicly accessible; a Cloud SQL instance has no public IPv4 address (private IP only); an Azure PostgreSQL flexible server has public network access disabled (or VNet integration) and no firewall rule opening it to the internet or to every Azure service. The registry's metadata and the monitor's predictions live there.",
    severity: "critical",
    framework: cisAws("2.3.3 Ensure that public access is not given to RDS Instance; CIS GCP 6.5/6.6 equivalents (no public IP, no 0.0.0.0/0 authorized network)"),
    clouds: ["aws", "gcp", "azure"],
    enforcementLevel: "mandatory",
    remediationSteps:
      "AWS: publiclyAccessible false, in private database subnets. GCP: settings.ipConfiguration.ipv4Enabled false with privateNetwork set. Azure: network.publicNetworkAccess \"Disabled\" or network.delegatedSubnetResourceId, and no 0.0.0.0-255.255.255.255 or 0.0.0.0-0.0.0.0 firewall rule.",
  },
  [
    validateResourceOfType(aws.rds.Instance, (db, args, report) => {
      if (db.publiclyAccessible === true) report(`RDS instance "${args.name}" is publicly accessible: set publiclyAccessible false`);
    }),
    validateResourceOfType(aws.rds.ClusterInstance, (db, args, report) => {
      if (db.publiclyAccessible === true) report(`Aurora instance "${args.name}" is publicly accessible: set publiclyAccessible false`);
    }),
    validateResourceOfType(gcp.sqlInstance, (db, args, report) => {
      const ip = db.settings?.ipConfiguration ?? {};
      if (ip.ipv4Enabled !== false) report(`Cloud SQL instance "${args.name}" has a public IPv4 address: set settings.ipConfiguration.ipv4Enabled false and use privateNetwork`);
      const open = (ip.authorizedNetworks ?? []).filter((n: { value?: string }) => n.value && isAnyAddress(n.value));
      if (open.length) report(`Cloud SQL instance "${args.name}" authorizes ${open.map((n: { value: string }) => n.value).join(", ")}: the whole internet`);
    }),
    validateResourceOfType(azure.postgresServer, (db, args, report) => {
      const network = db.network ?? {};
      if (network.publicNetworkAccess !== "Disabled" && !network.delegatedSubnetResourceId) {
        report(`PostgreSQL flexible server "${args.name}" accepts connections from public networks: set network.publicNetworkAccess "Disabled" or integrate it into a VNet`);
      }
    }),
    validateResourceOfType(azure.postgresFirewallRule, (rule, args, report) => {
      if (rule.startIpAddress === "0.0.0.0" && rule.endIpAddress === "255.255.255.255") report(`firewall rule "${args.name}" opens the database to every IPv4 address`);
      else if (rule.startIpAddress === "0.0.0.0" && rule.endIpAddress === "0.0.0.0") report(`firewall rule "${args.name}" admits every Azure service of every customer ("Allow Azure services"): use a private endpoint or VNet integration`);
    }),
  ],
);
