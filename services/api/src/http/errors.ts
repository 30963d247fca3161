/**
 * The platform API's error body (the seed's): `{"error": {"code", "message", "details", "timestamp",
 * "request_id"}}`, with the seed's codes (INVALID_TOKEN 401, MODEL_NOT_FOUND 404, VALIDATION_ERROR
 * 422, RATE_LIMIT_EXCEEDED 429, PREDICTION_FAILED 500...).
 */
import { HttpError } from "@mlops/common";
import type { z } from "zod";

export class ApiError extends HttpError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(status, code, message, headers);
    this.name = "ApiError";
  }
}

export interface ApiErrorBody {
  error: { code: string; message: string; details: Record<string, unknown>; timestamp: string; request_id: string | null };
}

/** The answer to an error; anything not an HttpError is our bug and says nothing of itself. */
export function apiErrorAnswer(err: HttpError | undefined, requestId: string | undefined): { status: number; body: ApiErrorBody; headers: Record<string, string> } {
  const known = err ?? new HttpError(500, "INTERNAL_ERROR", "internal server error");
  return {
    status: known.status,
    headers: known.headers,
    body: {
      error: {
        code: known.code,
        message: known.message,
        details: known instanceof ApiError ? known.details : {},
        timestamp: new Date().toISOString(),
        request_id: requestId ?? null,
      },
    },
  };
}

export interface FieldProblem {
  /** Where: `body.features.amount`, `query.limit`, `path.id`. */
  loc: string;
  message: string;
}

/** 422 VALIDATION_ERROR with each problem named by where it is. */
export function validationError(problems: FieldProblem[], message = "request validation failed"): ApiError {
  return new ApiError(422, "VALIDATION_ERROR", `${message}: ${problems.map((p) => `${p.loc}: ${p.message}`).join("; ")}`, { errors: problems });
}

export function zodFieldProblems(error: z.ZodError, where: string): FieldProblem[] {
  return error.issues.map((issue) => ({ loc: [where, ...issue.path.map(String)].join("."), message: issue.message }));
}

export const unauthenticated = (message: string) =>
  new ApiError(401, "INVALID_TOKEN", message, {}, { "www-authenticate": 'Bearer realm="mlops-api"' });
export const forbidden = (permission: string) =>
  new ApiError(403, "FORBIDDEN", `this call needs the permission ${permission}`, { required_permission: permission });
export const modelNotFound = (name: string) => new ApiError(404, "MODEL_NOT_FOUND", `Model ${name} not found`, { model_id: name });
export const conflict = (message: string, details: Record<string, unknown> = {}) => new ApiError(409, "CONFLICT", message, details);
