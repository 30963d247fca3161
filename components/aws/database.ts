import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { DatabaseEndpoint, Tags } from "../contracts";
import { generatedDatabasePassword } from "../shared/database-password";
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
  readonly parameterGroup: aws.rds.ParameterGroup;

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
    // One parameter group per major version, named after it: raising engineVersion creates the new
    // family's group first, the instance moves to it in the same modification, then the old group goes.
    const family = `postgres${args.engineVersion}`;
    const parameters = new aws.rds.ParameterGroup(
      `${name}-params-${family}`,
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
    const password = generatedDatabasePassword(`${name}-admin-password`, this);

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
        // RDS refuses a major version change without this; the parameter group above moves with it.
        allowMajorVersionUpgrade: true,
        // Pending modifications would leave the old parameter group attached, and Pulumi could not delete it.
        applyImmediately: true,
        deletionProtection: args.deletionProtection,
        skipFinalSnapshot: args.skipFinalSnapshot,
        finalSnapshotIdentifier: args.skipFinalSnapshot ? undefined : this.finalSnapshotIdentifier(name, identifier, key.arn),
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

    this.parameterGroup = parameters;
    this.endpoint = {
      host: this.instance.address,
      port: this.instance.port,
      username: pulumi.output(ADMIN_USERNAME),
      password: pulumi.secret(password.result),
      sslMode: "require",
    };
    this.registerOutputs({ address: this.instance.address, port: this.instance.port });
  }

  /**
   * Snapshot identifiers are unique per account and region: a fixed one makes the second replacement
   * or destroy fail on the first one's snapshot. The suffix is new whenever the instance would be
   * replaced (its keepers are the properties that force a replacement), and stable otherwise.
   */
  private finalSnapshotIdentifier(name: string, identifier: string, kmsKeyArn: pulumi.Output<string>): pulumi.Output<string> {
    const suffix = new random.RandomId(
      `${name}-final-snapshot-suffix`,
      { byteLength: 4, keepers: { identifier, engine: "postgres", dbName: "mlflow", username: ADMIN_USERNAME, kmsKeyId: kmsKeyArn } },
      { parent: this },
    );
    return pulumi.interpolate`${identifier}-final-${suffix.hex}`;
  }
}
