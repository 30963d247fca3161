import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { DatabaseEndpoint, Tags } from "../contracts";
import { createKmsKey } from "./kms";

export interface DatabaseArgs {
  vpcId: pulumi.Input<string>;
  databaseSubnetIds: pulumi.Input<string>[];
  /** The only security group allowed to connect (the cluster's nodes), on the PostgreSQL port only. */
  clientSecurityGroupId: pulumi.Input<string>;
  engineVersion: string;
  instanceClass: string;
  allocatedStorageGb: number;
  maxAllocatedStorageGb: number;
  multiAz: boolean;
  backupRetentionDays: number;
  deletionProtection: boolean;
  skipFinalSnapshot: boolean;
  performanceInsights: boolean;
  logRetentionDays: number;
  logsKmsKeyArn: pulumi.Input<string>;
  tags: Tags;
}

export const POSTGRES_PORT = 5432;
/** PostgreSQL logs RDS exports to CloudWatch Logs. */
export const EXPORTED_LOGS = ["postgresql", "upgrade"];
export const ADMIN_USERNAME = "mlops_admin";

/** RDS PostgreSQL for MLflow's backend store and the monitor: private, encrypted, TLS only. */
export class Database extends pulumi.ComponentResource {
  readonly endpoint: DatabaseEndpoint;
  readonly instance: aws.rds.Instance;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:aws:Database", name, {}, opts);
    const parent = { parent: this };
    const tags = (suffix: string) => ({ ...args.tags, Name: `${name}-${suffix}` });

    const key = createKmsKey(`${name}-rds`, "Storage and Performance Insights encryption of the platform database", args.tags, parent);
    const subnets = new aws.rds.SubnetGroup(`${name}-subnets`, { subnetIds: args.databaseSubnetIds, tags: tags("subnets") }, parent);
    const securityGroup = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      {
        vpcId: args.vpcId,
        description: "PostgreSQL from the cluster's nodes only",
        ingress: [{ protocol: "tcp", fromPort: POSTGRES_PORT, toPort: POSTGRES_PORT, securityGroups: [args.clientSecurityGroupId], description: "PostgreSQL from EKS nodes" }],
        egress: [],
        tags: tags("sg"),
      },
      parent,
    );
    const family = `postgres${args.engineVersion}`;
    const parameters = new aws.rds.ParameterGroup(
      `${name}-params`,
      {
        family,
        description: "TLS required for every connection",
        parameters: [
          { name: "rds.force_ssl", value: "1" },
          { name: "password_encryption", value: "scram-sha-256" },
          { name: "log_connections", value: "1" },
        ],
        tags: tags("params"),
      },
      parent,
    );
    // Letters and digits only: the password goes into connection URIs without escaping.
    const password = new random.RandomPassword(`${name}-admin-password`, { length: 40, special: false }, { parent: this, additionalSecretOutputs: ["result"] });

    // A fixed identifier lets the export log groups exist first, with retention and encryption, instead of RDS's defaults (never expire, unencrypted).
    const identifier = `${name}-postgres`;
    const logGroups = EXPORTED_LOGS.map(
      (log) =>
        new aws.cloudwatch.LogGroup(
          `${name}-${log}-logs`,
          { name: `/aws/rds/instance/${identifier}/${log}`, retentionInDays: args.logRetentionDays, kmsKeyId: args.logsKmsKeyArn, tags: tags(`${log}-logs`) },
          parent,
        ),
    );

    this.instance = new aws.rds.Instance(
      `${name}-postgres`,
      {
        identifier,
        engine: "postgres",
        engineVersion: args.engineVersion,
        instanceClass: args.instanceClass,
        allocatedStorage: args.allocatedStorageGb,
        maxAllocatedStorage: args.maxAllocatedStorageGb,
        storageType: "gp3",
        storageEncrypted: true,
        kmsKeyId: key.arn,
        dbName: "mlflow",
        username: ADMIN_USERNAME,
        password: password.result,
        port: POSTGRES_PORT,
        dbSubnetGroupName: subnets.name,
        vpcSecurityGroupIds: [securityGroup.id],
        parameterGroupName: parameters.name,
        publiclyAccessible: false,
        multiAz: args.multiAz,
        backupRetentionPeriod: args.backupRetentionDays,
        backupWindow: "03:00-04:00",
        maintenanceWindow: "sun:04:30-sun:05:30",
        deletionProtection: args.deletionProtection,
        skipFinalSnapshot: args.skipFinalSnapshot,
        finalSnapshotIdentifier: args.skipFinalSnapshot ? undefined : `${name}-final-snapshot`,
        copyTagsToSnapshot: true,
        autoMinorVersionUpgrade: true,
        performanceInsightsEnabled: args.performanceInsights,
        performanceInsightsKmsKeyId: args.performanceInsights ? key.arn : undefined,
        performanceInsightsRetentionPeriod: args.performanceInsights ? 7 : undefined,
        enabledCloudwatchLogsExports: EXPORTED_LOGS,
        tags: tags("postgres"),
      },
      { parent: this, protect: args.deletionProtection, dependsOn: logGroups },
    );

    this.endpoint = {
      host: this.instance.address,
      port: this.instance.port,
      username: pulumi.output(ADMIN_USERNAME),
      password: pulumi.secret(password.result),
      sslMode: "require",
    };
    this.registerOutputs({ address: this.instance.address, port: this.instance.port });
  }
}
