/**
 * A signed-in caller of the platform API, as an application would be: logs in once, sends its access
 * token, and refreshes it (rotating the refresh token) when the API answers 401 because it expired.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

interface Tokens {
  access_token: string;
  refresh_token: string;
  user: { id: number; username: string; role: string };
}

export class ApiSession {
  private constructor(
    readonly base: string,
    private tokens: Tokens,
  ) {}

  get user(): Tokens["user"] {
    return this.tokens.user;
  }

  static async login(base: string, username: string, password: string): Promise<ApiSession> {
    return new ApiSession(base, await call<Tokens>(base, "POST", "/auth/login", { body: { username, password } }));
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await call<T>(this.base, method, path, { body, token: this.tokens.access_token });
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401 || err.code !== "INVALID_TOKEN") throw err;
      this.tokens = await call<Tokens>(this.base, "POST", "/auth/refresh", { token: this.tokens.refresh_token });
      return call<T>(this.base, method, path, { body, token: this.tokens.access_token });
    }
  }

  async logout(): Promise<void> {
    await call(this.base, "POST", "/auth/logout", { token: this.tokens.access_token });
  }
}

async function call<T>(base: string, method: string, path: string, opts: { body?: unknown; token?: string }): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(opts.body === undefined ? {} : { "content-type": "application/json" }), ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  const doc = text ? (JSON.parse(text) as { error?: { code: string; message: string } }) : {};
  if (!res.ok) throw new ApiError(res.status, doc.error?.code ?? "HTTP_ERROR", `${method} ${path}: ${res.status} ${doc.error?.code ?? ""} ${doc.error?.message ?? text.slice(0, 200)}`);
  return doc as T;
}
