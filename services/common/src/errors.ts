/** An error that an HTTP API reports to its caller as `{"error", "code"}` with a 4xx/5xx status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export interface ErrorBody {
  error: string;
  code: string;
}

export function errorBody(err: unknown): { status: number; body: ErrorBody; headers: Record<string, string> } {
  if (err instanceof HttpError) {
    return { status: err.status, body: { error: err.message, code: err.code }, headers: err.headers };
  }
  // Anything else is our bug: say so without leaking internals to the caller.
  return { status: 500, body: { error: "internal server error", code: "INTERNAL" }, headers: {} };
}

export const badRequest = (message: string, code = "BAD_REQUEST") => new HttpError(400, code, message);
export const notFound = (message: string, code = "NOT_FOUND") => new HttpError(404, code, message);
