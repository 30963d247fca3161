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
  api: { database: "api", owner: "mlops_api" },
} as const;

/**
 * The Node services that own a database: each gets its own role, and its URL (node-postgres syntax)
 * in Secret `<secret>` under `database-url`, the one key the services read DATABASE_URL from.
 */
export const SERVICE_DATABASES = {
  monitor: { ...DATABASES.monitor, secret: "monitor-database", passwordEnv: "MONITOR_DB_PASSWORD" },
  api: { ...DATABASES.api, secret: "api-database", passwordEnv: "API_DB_PASSWORD" },
} as const;
export type ServiceDatabase = keyof typeof SERVICE_DATABASES;
/** The key of the services' database Secrets. */
export const DATABASE_URL_KEY = "database-url";

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
 * Creates (once, idempotently) MLflow's databases and each service's (SERVICE_DATABASES) with the
 * roles that own them, with the foundation's admin credentials, in a Job. The admin credentials reach
 * only that Job; MLflow and the services get connection URIs for their own roles, in Secrets.
 */
export class PlatformDatabases extends pulumi.ComponentResource {
  /** Secret with `backend-store-uri` and `auth-database-uri` (MLflow's role). */
  readonly mlflowSecretName: pulumi.Output<string>;
  /** Per service: the Secret with `database-url` (its own role, node-postgres syntax). */
  readonly serviceSecretNames: Record<ServiceDatabase, pulumi.Output<string>>;
  /** Completes once the databases and roles exist. */
  readonly ready: k8s.batch.v1.Job;

  constructor(name: string, args: PlatformDatabasesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:kubernetes:PlatformDatabases", name, {}, opts);
    const parent = { parent: this };
    const labels = recommendedLabels({ name: "postgresql", instance: "platform-databases", component: "database" });
    const db = args.database;
    const password = (role: string) => new random.RandomPassword(`${name}-${role}-password`, { length: 32, special: false }, { ...parent, additionalSecretOutputs: ["result"] }).result;
    const mlflowPassword = password("mlflow");
    const services = Object.entries(SERVICE_DATABASES).map(([key, spec]) => ({ key: key as ServiceDatabase, spec, password: password(key) }));

    const secret = (resourceName: string, secretName: string, data: Record<string, pulumi.Input<string>>) =>
      new k8s.core.v1.Secret(resourceName, { metadata: { name: secretName, namespace: args.namespace, labels }, type: "Opaque", stringData: pulumi.secret(data) }, parent);

    const admin = secret(`${name}-admin`, "postgres-admin", {
      PGHOST: db.host,
      PGPORT: db.port.apply(String),
      PGUSER: db.username,
      PGPASSWORD: db.password,
      PGSSLMODE: db.sslMode,
    });
    const rolePasswords: Record<string, pulumi.Input<string>> = { MLFLOW_DB_PASSWORD: mlflowPassword, ...Object.fromEntries(services.map((s) => [s.spec.passwordEnv, s.password])) };
    const roles = secret(`${name}-roles`, "postgres-platform-roles", rolePasswords);
    const mlflow = secret(`${name}-mlflow`, "mlflow-database", {
      "backend-store-uri": postgresUri(db, DATABASES.mlflow.owner, mlflowPassword, DATABASES.mlflow.database, "libpq"),
      "auth-database-uri": postgresUri(db, DATABASES.mlflowAuth.owner, mlflowPassword, DATABASES.mlflowAuth.database, "libpq"),
    });
    // Resource names `<name>-monitor`, `<name>-api`: the monitor's is the one it always had (no replacement).
    const serviceSecrets = services.map((s) => [s.key, secret(`${name}-${s.key}`, s.spec.secret, { [DATABASE_URL_KEY]: postgresUri(db, s.spec.owner, s.password, s.spec.database, "node-postgres") })] as const);

    const spec = [
      { ...DATABASES.mlflow, passwordEnv: "MLFLOW_DB_PASSWORD" },
      { ...DATABASES.mlflowAuth, passwordEnv: "MLFLOW_DB_PASSWORD" },
      ...services.map((s) => ({ database: s.spec.database, owner: s.spec.owner, passwordEnv: s.spec.passwordEnv })),
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
          ...Object.keys(rolePasswords).map((k) => secretEnv(k, roles.metadata.name, k)),
        ],
        resources: args.resources,
        writablePaths: [{ name: "tmp", mountPath: "/tmp", sizeLimit: "64Mi" }],
      },
    });
    this.mlflowSecretName = mlflow.metadata.name;
    this.serviceSecretNames = Object.fromEntries(serviceSecrets.map(([key, s]) => [key, s.metadata.name])) as Record<ServiceDatabase, pulumi.Output<string>>;
    this.registerOutputs({ mlflowSecretName: this.mlflowSecretName, serviceSecretNames: this.serviceSecretNames });
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
