/**
 * Why a request body cannot be decoded against a model's signature (or a response encoded), with a
 * machine code (`SHAPE_MISMATCH`, `UNKNOWN_INPUT`, ...). Codecs know nothing of HTTP: the routes turn a
 * CodecError into the answer (`http/errors.ts`: 400, or 413 for TOO_MANY_ROWS).
 */
export class CodecError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "CodecError";
  }
}

export const bad = (code: string, message: string) => new CodecError(code, message);
