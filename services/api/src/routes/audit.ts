/**
 * The audit log, newest first (read_audit):
 *   GET /audit ?skip&limit(<=1000)&actor&action&since&until -> {entries, total}
 * `since` is inclusive, `until` exclusive; `actor` is a username (case-insensitive).
 *
 *   registerAuditRoutes(api, { auditLog })   // auditLog: createIdentity(...).routes.auditLog
 */
import { z } from "zod";
import type { ApiRouter } from "../http/endpoint";
import type { PostgresAuditLog, StoredAuditEntry } from "../identity/audit-log";
import { pageQuery } from "./users";

export interface AuditRouteDeps {
  auditLog: Pick<PostgresAuditLog, "query">;
}

const instant = z.iso.datetime({ offset: true, message: "expected an ISO 8601 date-time, e.g. 2025-07-15T16:00:00Z" }).transform((s) => new Date(s));

const entrySchema = z.object({
  id: z.number().int(),
  at: z.iso.datetime(),
  actor: z.object({ kind: z.enum(["user", "api_key", "anonymous"]), user_id: z.number().int().nullable(), username: z.string().nullable(), key_id: z.string().nullable() }),
  action: z.string().describe("the endpoint's operationId"),
  method: z.string(),
  path: z.string(),
  target: z.record(z.string(), z.string()).describe("the call's path parameters"),
  outcome: z.enum(["success", "failure", "denied"]),
  status: z.number().int(),
  request_id: z.string(),
  detail: z.record(z.string(), z.unknown()),
});

function entryBody(e: StoredAuditEntry): z.infer<typeof entrySchema> {
  return {
    id: e.id,
    at: e.at.toISOString(),
    actor: { kind: e.actor.kind, user_id: e.actor.userId, username: e.actor.username, key_id: e.actor.keyId },
    action: e.action,
    method: e.method,
    path: e.path,
    target: e.target,
    outcome: e.outcome,
    status: e.status,
    request_id: e.requestId,
    detail: e.detail,
  };
}

export function registerAuditRoutes(api: ApiRouter, deps: AuditRouteDeps): void {
  api.endpoint({
    method: "get",
    path: "/audit",
    operationId: "listAuditEntries",
    summary: "Who did what: the audit log, newest first",
    tag: "audit",
    access: "read_audit",
    rateClass: "admin",
    query: pageQuery.extend({
      actor: z.string().min(1).optional().describe("username of the actor"),
      action: z.string().min(1).optional().describe("operationId, e.g. createUser"),
      since: instant.optional().describe("from this instant (inclusive)"),
      until: instant.optional().describe("before this instant"),
    }),
    responses: { 200: { description: "a page of entries", schema: z.object({ entries: z.array(entrySchema), total: z.number().int() }) } },
    handler: async ({ query }) => {
      const { entries, total } = await deps.auditLog.query(query);
      return { body: { entries: entries.map(entryBody), total } };
    },
  });
}
