import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { generatedDatabasePassword } from "../shared/database-password";
import { PORTS } from "../kubernetes/constants";
import { recommendedLabels, selectorLabels } from "../kubernetes/labels";
import { buildContainer, podSecurityContext, type ResourceSpec } from "../kubernetes/pod";

export type PostgresMajorVersion = "15" | "16" | "17";

/**
 * The official PostgreSQL images the local database runs by default, one per major version, pinned by
 * tag (the minor release) and, where recorded, by the multi-arch index digest. Bump tag and digest
 * together: `docker buildx imagetools inspect docker.io/library/postgres:<tag>` prints the digest.
 */
export const POSTGRES_IMAGES: Record<PostgresMajorVersion, string> = {
  "15": "docker.io/library/postgres:15.10-alpine",
  "16": "docker.io/library/postgres:16.6-alpine@sha256:1d04b9ba1d4996401f2552b51beda8187f175c0645c091e4781134fc9c9a3eef",
  "17": "docker.io/library/postgres:17.2-alpine",
};

/** The `postgres` user of the official images: 70 on Alpine, 999 on Debian. */
export const POSTGRES_UIDS = { alpine: 70, debian: 999 } as const;

/** Where the volume is mounted, and PGDATA below it: initdb wants a directory it owns with mode 0700, never a mount point (lost+found, root-owned hostPath roots). */
export const DATA_MOUNT = "/var/lib/postgresql/data";
export const PGDATA = `${DATA_MOUNT}/pgdata`;

/** The annotation the replicas-and-pdb policy reads (policies/rules/workloads/replicas-and-pdb.ts) for a workload that must run alone. */
const SINGLETON_ANNOTATION = "mlops.io/singleton-reason";
const SINGLETON_REASON = "one PostgreSQL server on a ReadWriteOnce volume: a second replica would be a second, empty database, not a standby";

export interface LocalPostgresArgs {
  namespace: pulumi.Input<string>;
  /** The namespace's name, for the in-cluster DNS name of the Service. */
  namespaceName: string;
  postgresVersion: PostgresMajorVersion;
  /** Default: POSTGRES_IMAGES[postgresVersion]. Its tag must name the same major version. */
  image?: string;
  /** The image's non-root `postgres` user; default: 70 for an `-alpine` tag, 999 otherwise. */
  uid?: number;
  username: string;
  database: string;
  storageSize: string;
  /** Unset: the cluster's default StorageClass. */
  storageClassName?: string;
  resources: ResourceSpec;
  labels: Record<string, string>;
}

/**
 * One PostgreSQL server in the cluster, for the local target: a StatefulSet (one replica, its data on
 * a volume claim), the generated admin password in a Secret, a headless Service for the StatefulSet
 * and a ClusterIP Service `postgres` for clients. No TLS: a local cluster has no certificates to offer.
 */
export class LocalPostgres extends pulumi.ComponentResource {
  readonly host: string;
  readonly port = PORTS.postgres;
  readonly password: pulumi.Output<string>;
  readonly secret: k8s.core.v1.Secret;
  readonly statefulSet: k8s.apps.v1.StatefulSet;
  readonly service: k8s.core.v1.Service;
  readonly headlessService: k8s.core.v1.Service;

  constructor(name: string, args: LocalPostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:local:Postgres", name, {}, opts);
    const image = args.image ?? POSTGRES_IMAGES[args.postgresVersion];
    checkImage(image, args.postgresVersion);
    const uid = args.uid ?? defaultUid(image);
    const tag = image.split("@")[0].split(":").pop() ?? args.postgresVersion;
    const labels = { ...args.labels, ...recommendedLabels({ name: "postgresql", instance: "postgres", component: "database", version: tag }) };
    const selector = selectorLabels({ name: "postgresql", instance: "postgres" });
    const parent = { parent: this };

    // A secret in the program too (additionalSecretOutputs only takes effect in the engine).
    this.password = pulumi.secret(generatedDatabasePassword(`${name}-admin-password`, this).result);
    this.secret = new k8s.core.v1.Secret(
      `${name}-credentials`,
      {
        metadata: { name: "postgres-credentials", namespace: args.namespace, labels },
        type: "kubernetes.io/basic-auth",
        stringData: { username: args.username, password: this.password },
      },
      parent,
    );

    const { container, volumes } = buildContainer({
      name: "postgres",
      image,
      uid,
      env: [
        { name: "POSTGRES_USER", value: args.username },
        { name: "POSTGRES_PASSWORD", valueFrom: { secretKeyRef: { name: this.secret.metadata.name, key: "password" } } },
        { name: "POSTGRES_DB", value: args.database },
        { name: "PGDATA", value: PGDATA },
      ],
      ports: [{ name: "postgres", containerPort: PORTS.postgres }],
      resources: args.resources,
      probes: {
        // Over TCP: during initdb the entrypoint's temporary server listens on the socket only, so the
        // pod becomes ready when the real server accepts connections. pg_isready does not log in.
        readiness: pgIsReady(args.username, args.database, { periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 }),
        liveness: pgIsReady(args.username, args.database, { periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 }),
        startup: pgIsReady(args.username, args.database, { periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 60 }),
      },
      // The root filesystem stays read-only: the server's socket and lock file, and temporary files.
      writablePaths: [
        { name: "run", mountPath: "/var/run/postgresql", sizeLimit: "16Mi" },
        { name: "tmp", mountPath: "/tmp", sizeLimit: "256Mi" },
      ],
    });
    container.volumeMounts = [...((container.volumeMounts as k8s.types.input.core.v1.VolumeMount[]) ?? []), { name: "data", mountPath: DATA_MOUNT }];

    this.headlessService = new k8s.core.v1.Service(
      `${name}-headless`,
      {
        metadata: { name: "postgres-headless", namespace: args.namespace, labels },
        spec: {
          clusterIP: "None",
          // The StatefulSet's pod gets its DNS name before it is ready (it is the only member).
          publishNotReadyAddresses: true,
          selector,
          ports: [{ name: "postgres", port: PORTS.postgres, targetPort: "postgres", protocol: "TCP" }],
        },
      },
      parent,
    );

    this.statefulSet = new k8s.apps.v1.StatefulSet(
      `${name}-statefulset`,
      {
        metadata: { name: "postgres", namespace: args.namespace, labels, annotations: { [SINGLETON_ANNOTATION]: SINGLETON_REASON } },
        spec: {
          replicas: 1,
          serviceName: this.headlessService.metadata.name,
          selector: { matchLabels: selector },
          podManagementPolicy: "OrderedReady",
          updateStrategy: { type: "RollingUpdate" },
          // The data outlives the StatefulSet: deleting the stack keeps the claim (delete it by hand).
          persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
          template: {
            metadata: { labels },
            spec: {
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              // fsGroup makes the claim's files the postgres group's where the volume plugin supports it;
              // local-path volumes (kind, k3d) are created world-writable, PGDATA is created below them.
              securityContext: { ...podSecurityContext(uid), fsGroupChangePolicy: "OnRootMismatch" },
              // Fast shutdown (SIGTERM) checkpoints first; give it time before SIGKILL.
              terminationGracePeriodSeconds: 60,
              containers: [container],
              volumes,
            },
          },
          volumeClaimTemplates: [
            {
              metadata: { name: "data", labels },
              spec: {
                accessModes: ["ReadWriteOnce"],
                storageClassName: args.storageClassName,
                resources: { requests: { storage: args.storageSize } },
              },
            },
          ],
        },
      },
      parent,
    );

    this.service = new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata: { name: "postgres", namespace: args.namespace, labels },
        spec: { type: "ClusterIP", selector, ports: [{ name: "postgres", port: PORTS.postgres, targetPort: "postgres", protocol: "TCP" }] },
      },
      parent,
    );

    this.host = `postgres.${args.namespaceName}.svc.cluster.local`;
    this.registerOutputs({ host: this.host, port: this.port });
  }
}

function pgIsReady(user: string, database: string, timing: { periodSeconds: number; timeoutSeconds: number; failureThreshold: number }): k8s.types.input.core.v1.Probe {
  return { exec: { command: ["pg_isready", "-h", "127.0.0.1", "-p", String(PORTS.postgres), "-U", user, "-d", database] }, ...timing };
}

/** A custom image must still be the major version the foundation announces (a data directory is tied to one). */
export function checkImage(image: string, major: PostgresMajorVersion): void {
  const tag = /:([^/@]+)(@|$)/.exec(image)?.[1];
  if (!tag) throw new Error(`local database image "${image}": pin a version tag (postgres:${major}.x-alpine)`);
  if (tag === "latest") throw new Error(`local database image "${image}": "latest" is not a version; pin postgres:${major}.x`);
  const m = /^(\d+)(\.|-|$)/.exec(tag);
  if (m && m[1] !== major) throw new Error(`local database image "${image}" is PostgreSQL ${m[1]}, but postgresVersion is "${major}"`);
}

function defaultUid(image: string): number {
  return /:[^/@]*alpine/.test(image) ? POSTGRES_UIDS.alpine : POSTGRES_UIDS.debian;
}
