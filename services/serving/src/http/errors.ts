import { HttpError } from "@mlops/common";
import { CodecError } from "../protocols/codec-error";

/**
 * A codec's CodecError as the answer: 400 with its code, but 413 for TOO_MANY_ROWS (like
 * PAYLOAD_TOO_LARGE: the request is too big, not malformed). Anything else is returned as it is.
 */
export function toHttpError(err: unknown): unknown {
  if (err instanceof CodecError) return new HttpError(err.code === "TOO_MANY_ROWS" ? 413 : 400, err.code, err.message);
  return err;
}

export function modelNotFound(name: string, served: string): HttpError {
  return new HttpError(404, "MODEL_NOT_FOUND", `unknown model "${name}"; this server serves "${served}"`);
}

/** A %-decoded path segment; a malformed escape is 400 INVALID_PATH (as the express routes answer). */
export function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(400, "INVALID_PATH", `the path has a malformed %-escape: "${part}"`);
  }
}
