/**
 * What the platform API's tests share: principals without the identity module (`Bearer role:<role>`,
 * or `Bearer user:<id>:<role>` when two users of one role must differ), and an API shell served on an
 * ephemeral port of 127.0.0.1.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { unauthenticated } from "../../services/api/src/http/errors";
import { permissionsOf, ROLES, type Authenticator, type Environment, type Role } from "../../services/api/src/identity/roles";

/**
 * `Bearer role:<role>`: user id = the role's position + 1, username `usernameOf(role)`;
 * `Bearer user:<id>:<role>`: that user id, username `user<id>`. Permissions as the role has them in `environment`.
 */
export function roleAuthenticator(environment: Environment = "dev", usernameOf: (role: Role) => string = (role) => role): Authenticator {
  return {
    async authenticate(header) {
      const byRole = /^Bearer role:(\w+)$/.exec(header ?? "");
      const byUser = /^Bearer user:(\d+):(\w+)$/.exec(header ?? "");
      const role = (byRole?.[1] ?? byUser?.[2]) as Role | undefined;
      if (!role || !ROLES.includes(role)) throw unauthenticated("authentication required");
      const userId = byUser ? Number(byUser[1]) : ROLES.indexOf(role) + 1;
      return { kind: "user", userId, username: byUser ? `user${userId}` : usernameOf(role), role, permissions: permissionsOf(role, environment) };
    },
  };
}

export interface ServedApi {
  /** The API's base URL, `http://127.0.0.1:<port>/api/v1`. */
  url: string;
  /** Ends keep-alive connections too, so the close does not wait for clients to go. */
  close(): Promise<void>;
}

export async function serveApi(handler: http.RequestListener): Promise<ServedApi> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
