import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { DatabaseEndpoint, Toleration } from "../contracts";
import { UIDS } from "./constants";
import { secretEnv } from "./http-workload";
import { createOneShotJob } from "./jobs";
import { recommendedLabels } from "./labels";
import type { ResourceSpec } from "./pod";

/** The databases the platform keeps on the foundation's PostgreSQL, each with its own owner role. */
export const DATABASES = {
  mlflow: { database: "mlflow", owner: "mlops_mlflow" },
  mlflowAuth: { database: "mlflow_auth", owner: "mlops_mlflow" },
  monitor: { database: "monitor", owner: "mlops_monitor" },
} as const;

export interface PlatformDatabasesArgs {
  namespace: pulumi.Input<string>;
  database: DatabaseEndpoint;
  /** The MLflow image: it carries init_databases.py and the PostgreSQL driver. */
  image: string;
  version: string;
  resources: ResourceSpec;
  /** The foundation's tolerations (every platform pod carries them). */
  tolerations?: Toleration[];
}

/**
 * Creates (once, idempotently) the `mlflow`, `mlflow_auth` and `monitor` databases and the roles
 * that own them, with the foundation's admin credentials, in a Job. The admin credentials reach only
 * that Job; MLflow and the monitor get connection URIs for their own roles, in Secrets.
 */
export class PlatformDatabases extends pulumi.ComponentResource {
  /** Secret with `backend-store-uri` and `auth-database-uri` (MLflow's role). */
  readonly mlflowSecretName: pulumi.Output<string>;
  /** Secret with `database-url` (the monitor's role, node-postgres syntax). */
  readonly monitorSecretName: pulumi.Output<string>;
  /** Completes once the databases and roles exist. */
  readonly ready: k8s.batch.v1.Job;

  constructor(name: string, args: PlatformDatabasesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:kubernetes:PlatformDatabases", name, {}, opts);
    const parent = { parent: this };
    const labels = recommendedLabels({ name: "postgresql", instance: "platform-databases", component: "database" });
    const db = args.database;
    const password = (role: string) => new random.RandomPassword(`${name}-${role}-password`, { length: 32, special: false }, { ...parent, additionalSecretOutputs: ["result"] }).result;
    const mlflowPassword = password("mlflow");
    const monitorPassword = password("monitor");

    const secret = (resourceName: string, secretName: string, data: Record<string, pulumi.Input<string>>) =>
      new k8s.core.v1.Secret(resourceName, { metadata: { name: secretName, namespace: args.namespace, labels }, type: "Opaque", stringData: pulumi.secret(data) }, parent);

    const admin = secret(`${name}-admin`, "postgres-admin", {
      PGHOST: db.host,
      PGPORT: db.port.apply(String),
      PGUSER: db.username,
      PGPASSWORD: db.password,
      PGSSLMODE: db.sslMode,
    });
    const roles = secret(`${name}-roles`, "postgres-platform-roles", { MLFLOW_DB_PASSWORD: mlflowPassword, MONITOR_DB_PASSWORD: monitorPassword });
    const mlflow = secret(`${name}-mlflow`, "mlflow-database", {
      "backend-store-uri": postgresUri(db, DATABASES.mlflow.owner, mlflowPassword, DATABASES.mlflow.database, "libpq"),
      "auth-database-uri": postgresUri(db, DATABASES.mlflowAuth.owner, mlflowPassword, DATABASES.mlflowAuth.database, "libpq"),
    });
    const monitor = secret(`${name}-monitor`, "monitor-database", {
      "database-url": postgresUri(db, DATABASES.monitor.owner, monitorPassword, DATABASES.monitor.database, "node-postgres"),
    });

    const spec = [
      { ...DATABASES.mlflow, passwordEnv: "MLFLOW_DB_PASSWORD" },
      { ...DATABASES.mlflowAuth, passwordEnv: "MLFLOW_DB_PASSWORD" },
      { ...DATABASES.monitor, passwordEnv: "MONITOR_DB_PASSWORD" },
    ];
    this.ready = createOneShotJob(this, {
      namespace: args.namespace,
      name: "db-init",
      app: "db-init",
      component: "database-init",
      version: args.version,
      fingerprint: { image: args.image, spec },
      activeDeadlineSeconds: 600,
      tolerations: args.tolerations,
      container: {
        name: "init-databases",
        image: args.image,
        uid: UIDS.mlflow,
        command: ["python", "/opt/mlops/init_databases.py"],
        env: [
          { name: "MLOPS_DATABASES", value: JSON.stringify(spec) },
          { name: "PGDATABASE", value: "postgres" },
          { name: "PGCONNECT_TIMEOUT", value: "15" },
          ...["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGSSLMODE"].map((k) => secretEnv(k, admin.metadata.name, k)),
          ...["MLFLOW_DB_PASSWORD", "MONITOR_DB_PASSWORD"].map((k) => secretEnv(k, roles.metadata.name, k)),
        ],
        resources: args.resources,
        writablePaths: [{ name: "tmp", mountPath: "/tmp", sizeLimit: "64Mi" }],
      },
    });
    this.mlflowSecretName = mlflow.metadata.name;
    this.monitorSecretName = monitor.metadata.name;
    this.registerOutputs({ mlflowSecretName: this.mlflowSecretName, monitorSecretName: this.monitorSecretName });
  }
}

/**
 * A PostgreSQL URI for one role and database, credentials URL-encoded. `node-postgres` adds
 * `uselibpqcompat=true`: node-postgres otherwise reads `sslmode=require` as verify-full, which a
 * managed database's private CA fails, while libpq (MLflow's psycopg2) encrypts without verifying.
 */
export function postgresUri(
  db: Pick<DatabaseEndpoint, "host" | "port" | "sslMode">,
  user: string,
  password: pulumi.Input<string>,
  database: string,
  client: "libpq" | "node-postgres",
): pulumi.Output<string> {
  return pulumi.secret(
    pulumi.all([db.host, db.port, password]).apply(([host, port, pw]) => {
      const query = new URLSearchParams({ sslmode: db.sslMode });
      if (client === "node-postgres" && db.sslMode === "require") query.set("uselibpqcompat", "true");
      return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(pw)}@${host}:${port}/${database}?${query}`;
    }),
  );
}
