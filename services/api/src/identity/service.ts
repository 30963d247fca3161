/**
 * What the auth and user routes do, over the stores: login, refresh, logout, user and API key
 * management. Every change that ends a credential also drops it from this pod's authenticator cache,
 * so a revocation takes effect here at once (other replicas: within the cache lifetimes).
 */
import { ApiError } from "../http/errors";
import type { ApiKeyInfo, ApiKeyStore } from "./api-keys";
import type { IdentityAuthenticator } from "./authenticator";
import type { PasswordHasher } from "./passwords";
import type { Permission, Role } from "./roles";
import type { SessionStore } from "./sessions";
import type { AccessTokens } from "./tokens";
import type { User, UserStore } from "./users";

export interface TokenPair {
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
  user: User;
}

export const invalidCredentials = () => new ApiError(401, "INVALID_CREDENTIALS", "invalid username or password", {}, { "www-authenticate": 'Bearer realm="mlops-api"' });

export interface IdentityServiceDeps {
  users: UserStore;
  sessions: SessionStore;
  keys: ApiKeyStore;
  tokens: AccessTokens;
  hasher: PasswordHasher;
  authenticator: IdentityAuthenticator;
  refreshTtlS: number;
}

export class IdentityService {
  constructor(private readonly d: IdentityServiceDeps) {}

  /** One answer for an unknown user, a wrong password and a deactivated user, after the same work. */
  async login(username: string, password: string): Promise<TokenPair> {
    const found = await this.d.users.findForLogin(username);
    const ok = found ? await this.d.hasher.verify(password, found.passwordHash) : await this.d.hasher.verifyNobody(password);
    if (!found || !ok || !found.isActive) throw invalidCredentials();
    const rehashed = this.d.hasher.needsRehash(found.passwordHash) ? await this.d.hasher.hash(password) : undefined;
    await this.d.users.recordLogin(found.id, rehashed);
    const { passwordHash: _hidden, ...user } = found;
    const { sessionId, refreshToken } = await this.d.sessions.start(user.id);
    return this.pair(user, sessionId, refreshToken);
  }

  async refresh(refreshToken: string): Promise<TokenPair> {
    try {
      const { user, sessionId, refreshToken: next } = await this.d.sessions.rotate(refreshToken);
      return await this.pair(user, sessionId, next);
    } catch (err) {
      const sessionId = (err as { sessionId?: string }).sessionId;
      if (sessionId) this.d.authenticator.forgetSession(sessionId);
      throw err;
    }
  }

  async logout(sessionId: string): Promise<void> {
    await this.d.sessions.revoke(sessionId, "logged out");
    this.d.authenticator.forgetSession(sessionId);
  }

  listUsers(skip: number, limit: number) {
    return this.d.users.list(skip, limit);
  }

  getUser(id: number): Promise<User> {
    return this.d.users.get(id);
  }

  async createUser(u: { username: string; password: string; role: Role; permissions: Permission[] }): Promise<User> {
    return this.d.users.create({ username: u.username, role: u.role, permissions: u.permissions, passwordHash: await this.d.hasher.hash(u.password) });
  }

  async updateUser(id: number, changes: { role?: Role; permissions?: Permission[]; isActive?: boolean; password?: string }): Promise<{ user: User; sessionsRevoked: boolean }> {
    const { password, ...rest } = changes;
    const result = await this.d.users.update(id, { ...rest, passwordHash: password === undefined ? undefined : await this.d.hasher.hash(password) });
    this.d.authenticator.forgetUser(id);
    return result;
  }

  createApiKey(userId: number, name: string): Promise<ApiKeyInfo & { key: string }> {
    return this.d.keys.create(userId, name);
  }

  listApiKeys(userId: number): Promise<ApiKeyInfo[]> {
    return this.d.keys.list(userId);
  }

  async revokeApiKey(userId: number, keyId: string): Promise<void> {
    await this.d.keys.revoke(userId, keyId);
    this.d.authenticator.forgetKey(keyId);
  }

  private async pair(user: User, sessionId: string, refreshToken: string): Promise<TokenPair> {
    const accessToken = await this.d.tokens.issue({ userId: user.id, role: user.role, sessionId });
    return { accessToken, expiresIn: this.d.tokens.ttlS, refreshToken, refreshExpiresIn: this.d.refreshTtlS, user };
  }
}
