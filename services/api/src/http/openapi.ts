/**
 * The OpenAPI 3.1 document of the declared endpoints, generated from the zod schemas that validate
 * them (zod's JSON Schema output is draft 2020-12, the dialect of OpenAPI 3.1). Request parts are
 * described as the client sends them (`io: "input"`: defaults optional), responses as the API writes them.
 */
import { z } from "zod";
import type { DeclaredEndpoint } from "./endpoint";
import { RATE_WINDOW_S } from "./rate-limit";

type Json = Record<string, unknown>;

const errorSchema = z.object({
  error: z.object({
    code: z.string().meta({ example: "MODEL_NOT_FOUND" }),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
    timestamp: z.iso.datetime(),
    request_id: z.string().nullable(),
  }),
});

const STANDARD_ERRORS: Record<number, string> = {
  401: "Missing or invalid authentication (INVALID_TOKEN)",
  403: "The caller lacks the permission this call needs (FORBIDDEN)",
  422: "Request validation failed (VALIDATION_ERROR); `details.errors` names each field",
  429: "Rate limit exceeded (RATE_LIMIT_EXCEEDED)",
};

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Json {
  const out = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Json;
  delete out.$schema;
  return out;
}

function parameters(schema: z.ZodType | undefined, where: "path" | "query"): Json[] {
  if (!schema) return [];
  const s = jsonSchema(schema, "input") as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, prop]) => ({
    name,
    in: where,
    required: where === "path" || (s.required ?? []).includes(name),
    ...(typeof prop.description === "string" ? { description: prop.description } : {}),
    schema: prop,
  }));
}

export function openApiDocument(endpoints: DeclaredEndpoint[], opts: { basePath: string; version: string }): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const e of endpoints) {
    const responses: Record<string, Json> = {};
    for (const [status, r] of Object.entries(e.responses)) {
      responses[status] = { description: r.description, ...(r.schema ? { content: { "application/json": { schema: jsonSchema(r.schema, "output") } } } : {}) };
    }
    const refused = [...(e.access === "public" ? [] : [401]), ...(e.access === "public" || e.access === "authenticated" ? [] : [403]), 422, 429];
    for (const status of refused) {
      responses[String(status)] ??= { description: STANDARD_ERRORS[status], content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
    }
    (paths[e.path] ??= {})[e.method] = {
      operationId: e.operationId,
      summary: e.summary,
      ...(e.description ? { description: e.description } : {}),
      tags: [e.tag],
      ...(e.access === "public" ? { security: [] } : {}),
      "x-required-permission": e.access,
      "x-rate-limit-class": e.rateClass,
      parameters: [...parameters(e.params, "path"), ...parameters(e.query, "query")],
      ...(e.body ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(e.body, "input") } } } } : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "MLOps platform API",
      version: opts.version,
      description: `Models, deployment and predictions over the MLflow registry, serving and the monitor. Rate limits per class and principal, per ${RATE_WINDOW_S} s window; every answer carries X-RateLimit-Limit/Remaining/Reset/Window.`,
    },
    servers: [{ url: opts.basePath }],
    paths,
    components: {
      schemas: { Error: jsonSchema(errorSchema, "output") },
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "An access token from POST /auth/login, or an API key (mlops_...)" },
      },
    },
    security: [{ bearer: [] }],
  };
}
