import pino from "pino";

export type Logger = pino.Logger;

/** JSON logs on stdout; secrets are redacted wherever they appear under these keys. */
export function createLogger(service: string, level: string = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ["password", "*.password", "token", "*.token", "authorization", "*.authorization", "headers.authorization"], censor: "[redacted]" },
  });
}
