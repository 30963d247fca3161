/**
 * One declaration per endpoint gives the route, its checks and its documentation: the zod schemas
 * that validate path, query and body are the ones the OpenAPI document is generated from, so the
 * two cannot disagree.
 *
 *   api.endpoint({
 *     method: "get", path: "/models/{id}", operationId: "getModel", summary: "A model", tag: "models",
 *     access: "read_models", rateClass: "models",
 *     params: z.object({ id: modelId }),
 *     responses: { 200: { description: "the model", schema: modelSchema } },
 *     handler: async ({ params }) => ({ body: await registry.get(params.id) }),
 *   });
 *
 * Order of a call: authenticate (401 INVALID_TOKEN) -> rate limit of its class per principal (429)
 * -> permission (403 FORBIDDEN) -> path, query, body validation (422 VALIDATION_ERROR naming each
 * field) -> handler. Every call other than a GET by an identified caller (and every login) is written
 * to the audit log after the handler (success, failure or 403), before the answer leaves, so a client
 * that saw the answer finds the entry. Calls refused before anyone is identified (401, 429) are not:
 * they would let an anonymous flood fill the log; the request log and metrics count them.
 */
import type { Request, RequestHandler, Response } from "express";
import { HttpError, requestIdOf, type RouteMethod, type ServiceApp } from "@mlops/common";
import type { z } from "zod";
import type { Authenticator, Permission, Principal } from "../identity/roles";
import { forbidden, validationError, zodFieldProblems, type FieldProblem } from "./errors";
import type { ApiMetrics } from "./metrics";
import { RATE_KEY_LOCAL, type RateClass } from "./rate-limit";

/** Who may call: anyone (login), any authenticated principal, or holders of one permission. */
export type Access = Permission | "public" | "authenticated";

export interface EndpointResponse {
  description: string;
  schema?: z.ZodType;
}

export interface EndpointContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** Undefined only on public endpoints. */
  principal: Principal | undefined;
  requestId: string;
  req: Request;
  res: Response;
  /** Adds to this call's audit entry (the target's name, the version moved...). */
  auditDetail(detail: Record<string, unknown>): void;
  /** On a public endpoint (login): who the call was for, recorded as the audit entry's actor. */
  auditActor(username: string): void;
}

export interface EndpointResult {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface EndpointSpec<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType> {
  method: RouteMethod;
  /** OpenAPI style, under the base path: `/models/{id}/deploy`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  access: Access;
  rateClass: RateClass;
  params?: P;
  query?: Q;
  body?: B;
  responses: Record<number, EndpointResponse>;
  /** Default: every method but GET is audited. */
  audit?: boolean;
  /**
   * Also answered by the fast path in front of express (http/fast-path.ts) when called without a query
   * string. Only for unaudited endpoints whose handler reads nothing of `req` but its headers and
   * answers with a body (no `res`): the fast path hands the handler node's request, not express's.
   */
  fast?: boolean;
  handler(ctx: EndpointContext<z.output<P>, z.output<Q>, z.output<B>>): Promise<EndpointResult> | EndpointResult;
}

export interface AuditEntry {
  at: Date;
  actor: { kind: Principal["kind"] | "anonymous"; userId: number | null; username: string | null; keyId: string | null };
  action: string;
  method: string;
  path: string;
  target: Record<string, string>;
  outcome: "success" | "failure" | "denied";
  status: number;
  requestId: string;
  detail: Record<string, unknown>;
}

export interface AuditSink {
  record(entry: AuditEntry): Promise<void>;
}

export interface EndpointDeps {
  service: ServiceApp;
  basePath: string;
  authenticator: Authenticator;
  limiters: Record<RateClass, RequestHandler>;
  audit: AuditSink;
  /** Logs an audit write that failed (the call's own answer stands). */
  onAuditError(err: unknown, entry: AuditEntry): void;
  /** Counts each answered call (refusals included) by operation and status. */
  metrics?: ApiMetrics;
}

/** What the OpenAPI generator needs of a declared endpoint. */
export type DeclaredEndpoint = Pick<EndpointSpec, "method" | "path" | "operationId" | "summary" | "description" | "tag" | "access" | "rateClass" | "params" | "query" | "body" | "responses">;

/** An endpoint the fast path answers: its spec and its path as a pattern (one group per `{param}`). */
export interface FastEndpoint {
  spec: EndpointSpec;
  method: string;
  pattern: RegExp;
  paramNames: string[];
}

export class ApiRouter {
  readonly endpoints: DeclaredEndpoint[] = [];
  readonly fastEndpoints: FastEndpoint[] = [];
  private readonly byPath = new Map<string, Partial<Record<RouteMethod, RequestHandler[]>>>();

  constructor(private readonly deps: EndpointDeps) {}

  endpoint<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(spec: EndpointSpec<P, Q, B>): this {
    if (this.endpoints.some((e) => e.operationId === spec.operationId)) throw new Error(`endpoint ${spec.operationId} is declared twice`);
    this.endpoints.push(spec as unknown as DeclaredEndpoint);
    const expressPath = this.deps.basePath + spec.path.replace(/\{([A-Za-z0-9_]+)\}/g, ":$1");
    const handlers = this.byPath.get(expressPath) ?? {};
    if (handlers[spec.method]) throw new Error(`${spec.method.toUpperCase()} ${spec.path} is declared twice`);
    handlers[spec.method] = this.chain(spec as unknown as EndpointSpec);
    this.byPath.set(expressPath, handlers);
    if (spec.fast) {
      if (spec.audit ?? spec.method !== "get") throw new Error(`endpoint ${spec.operationId}: the fast path does not write the audit log; declare it audit: false or not fast`);
      const paramNames: string[] = [];
      const source = (this.deps.basePath + spec.path).replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{([A-Za-z0-9_]+)\}/g, (_, name: string) => (paramNames.push(name), "([^/?#]+)"));
      this.fastEndpoints.push({ spec: spec as unknown as EndpointSpec, method: spec.method.toUpperCase(), pattern: new RegExp(`^${source}$`), paramNames });
    }
    return this;
  }

  /** Mounts the declared endpoints on the service app (once, after every endpoint is declared). */
  mount(): void {
    for (const [path, handlers] of this.byPath) this.deps.service.route(path, handlers);
  }

  private chain(spec: EndpointSpec): RequestHandler[] {
    const { authenticator, limiters, service } = this.deps;
    const authenticate: RequestHandler = (req, res, next) => {
      if (this.deps.metrics) {
        const started = process.hrtime.bigint();
        res.once("finish", () => this.deps.metrics!.observe(spec.operationId, res.statusCode, Number(process.hrtime.bigint() - started) / 1e9));
      }
      if (spec.access === "public") {
        res.locals[RATE_KEY_LOCAL] = `ip:${req.ip}`;
        return next();
      }
      authenticator.authenticate(req.headers.authorization).then((principal) => {
        res.locals.principal = principal;
        res.locals[RATE_KEY_LOCAL] = rateKeyOf(principal);
        next();
      }, (err) => {
        res.locals[RATE_KEY_LOCAL] = `ip:${req.ip}`;
        // Refused credentials still count against the caller's address, so guessing is rate limited too.
        limiters[spec.rateClass](req, res, (limited?: unknown) => next(limited ?? err));
      });
    };
    const handle: RequestHandler = (req, res, next) => {
      const principal = res.locals.principal as Principal | undefined;
      const requestId = requestIdOf(res) ?? "";
      const detail: Record<string, unknown> = {};
      let actorName: string | undefined;
      const audited = spec.audit ?? spec.method !== "get";
      const run = () =>
        checkAndHandle(spec, principal, { params: req.params, query: req.query, readBody: () => service.readJson(req, res) }, {
          requestId, req, res,
          auditDetail: (d) => Object.assign(detail, d),
          auditActor: (name) => (actorName = name),
        });
      const record = async (status: number) => {
        if (!audited) return;
        const entry: AuditEntry = {
          at: new Date(),
          actor: {
            kind: principal?.kind ?? "anonymous",
            userId: principal?.userId ?? null,
            username: principal?.username ?? actorName ?? null,
            keyId: principal?.keyId ?? null,
          },
          action: spec.operationId,
          method: req.method,
          path: req.originalUrl.split("?", 1)[0],
          target: { ...(req.params as Record<string, string>) },
          outcome: status < 400 ? "success" : status === 401 || status === 403 ? "denied" : "failure",
          status,
          requestId,
          detail,
        };
        try {
          await this.deps.audit.record(entry);
        } catch (err) {
          this.deps.onAuditError(err, entry);
        }
      };
      run().then(
        async (result) => {
          const status = result.status ?? 200;
          await record(status);
          res.status(status).set(result.headers ?? {});
          if (result.body === undefined) res.end();
          else res.json(result.body);
        },
        async (err) => {
          await record(err instanceof HttpError ? err.status : 500);
          next(err);
        },
      );
    };
    return [authenticate, limiters[spec.rateClass], handle];
  }
}

/** Whose counters a principal's calls count against. */
export function rateKeyOf(principal: Principal): string {
  return principal.keyId ? `key:${principal.keyId}` : `user:${principal.userId}`;
}

/**
 * After authentication and the rate limit, for express and the fast path alike: permission (403),
 * then path, query and body validation (422), then the handler.
 */
export async function checkAndHandle(
  spec: EndpointSpec,
  principal: Principal | undefined,
  raw: { params: unknown; query: unknown; readBody(): Promise<unknown> },
  ctx: Omit<EndpointContext<unknown, unknown, unknown>, "params" | "query" | "body" | "principal">,
): Promise<EndpointResult> {
  if (spec.access !== "public" && spec.access !== "authenticated" && !principal!.permissions.has(spec.access)) throw forbidden(spec.access);
  // Every part is checked before answering, so one 422 names every problem of the request.
  const problems: FieldProblem[] = [];
  const params = parsePart(spec.params, raw.params, "path", problems);
  const query = parsePart(spec.query, raw.query, "query", problems);
  const body = spec.body ? parsePart(spec.body, await raw.readBody(), "body", problems) : undefined;
  if (problems.length) throw validationError(problems);
  return spec.handler({ ...ctx, params, query, body, principal });
}

function parsePart(schema: z.ZodType | undefined, value: unknown, where: "path" | "query" | "body", problems: FieldProblem[]): any {
  if (!schema) return value;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  problems.push(...zodFieldProblems(parsed.error, where));
  return undefined;
}
