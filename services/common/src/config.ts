import { z } from "zod";
import { shownEnvValue } from "./redact";

/**
 * Thrown by parseEnv: one line per bad variable, each naming the variable, the value and what is
 * allowed. Values of secret-named variables are never shown, URLs with credentials by origin only.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

export function parseEnv<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = issue.path.join(".");
    const name = String(issue.path[0]);
    return `${key}=${shownEnvValue(name, env[name])}: ${issue.message}`;
  });
  throw new ConfigError(problems);
}

/** Reusable env field parsers (env values are strings). */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  int: (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback),
  number: (fallback: number) => z.coerce.number().finite().default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(["true", "false", "1", "0", "yes", "no"], { message: "expected true or false" })
      .default(fallback ? "true" : "false")
      .transform((v) => v === "true" || v === "1" || v === "yes"),
  list: () =>
    z
      .string()
      .default("")
      .transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean)),
  logLevel: () => z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** A variable holding a document (JSON...) read by `parse`, whose error becomes the variable's message. */
  parsed: <T>(parse: (text: string) => T, fallback = "") =>
    z
      .string()
      .default(fallback)
      .transform((text, ctx): T | typeof z.NEVER => {
        try {
          return parse(text);
        } catch (err) {
          ctx.addIssue({ code: "custom", message: (err as Error).message });
          return z.NEVER;
        }
      }),
};

/** What every service reads besides its own variables (PRODUCT.md: the API on 8080, metrics on 9090). */
export const serviceEnvFields = {
  PORT: env.port(8080),
  METRICS_PORT: env.port(9090),
  /** Bind address; unset = every interface. */
  HOST: z.string().optional(),
  LOG_LEVEL: env.logLevel(),
};
