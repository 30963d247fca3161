/**
 * Roles and permissions (PRODUCT.md): admin everything; ml_engineer models, deploy, predictions,
 * drift, metrics, webhooks; data_scientist reads models, predicts, drift, metrics, and deploys outside
 * prod only; viewer reads. Every endpoint names the one permission it needs.
 */
export const PERMISSIONS = [
  "read_models",
  "write_models",
  "deploy_models",
  "create_predictions",
  "read_predictions",
  "write_feedback",
  "read_drift",
  "write_drift",
  "view_metrics",
  "manage_webhooks",
  "manage_users",
  "read_audit",
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ["admin", "ml_engineer", "data_scientist", "viewer"] as const;
export type Role = (typeof ROLES)[number];

export type Environment = "dev" | "prod";

const READ: Permission[] = ["read_models", "read_predictions", "read_drift", "view_metrics"];

export function permissionsOf(role: Role, environment: Environment): ReadonlySet<Permission> {
  switch (role) {
    case "admin":
      return new Set(PERMISSIONS);
    case "ml_engineer":
      return new Set<Permission>([...READ, "write_models", "deploy_models", "create_predictions", "write_feedback", "write_drift", "manage_webhooks"]);
    case "data_scientist":
      return new Set<Permission>([...READ, "create_predictions", "write_feedback", "write_drift", ...(environment === "prod" ? [] : (["deploy_models"] as Permission[]))]);
    case "viewer":
      return new Set<Permission>(READ);
  }
}

/** Who is calling: a signed-in user (access token) or a machine (API key), with what they may do. */
export interface Principal {
  kind: "user" | "api_key";
  userId: number;
  username: string;
  role: Role;
  permissions: ReadonlySet<Permission>;
  /** The session of an access token (logout ends it). */
  sessionId?: string;
  /** The API key's id. */
  keyId?: string;
}

/** Resolves an `Authorization` header to a principal; throws 401 INVALID_TOKEN (ApiError) when it cannot. */
export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Principal>;
}
