/**
 * The local platform API's first admin: `admin` with MLOPS_ADMIN_PASSWORD when it is set (never written
 * anywhere by us), else a generated password, printed once when it is made and kept for later starts in
 * a file only the user can read (as a cluster keeps it in a Secret), so `npm run demo:traffic` can log in.
 * The API uses it only while its users table is empty: changing it later changes nothing.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { LocalPlatformError } from "./layout";

export const ADMIN_USERNAME = "admin";
export const ADMIN_PASSWORD_ENV = "MLOPS_ADMIN_PASSWORD";
/** The API's own rule (services/api/src/env.ts ADMIN_PASSWORD). */
const MIN_LENGTH = 12;

export interface LocalAdmin {
  username: string;
  password: string;
  /** env: MLOPS_ADMIN_PASSWORD; generated: made by this start (print it); file: made by an earlier start. */
  source: "env" | "generated" | "file";
  /** Where a generated password is kept. */
  file: string;
}

export function adminPasswordFile(configDir: string): string {
  return path.join(configDir, "admin-password");
}

export function localAdmin(configDir: string, env: NodeJS.ProcessEnv = process.env): LocalAdmin {
  const file = adminPasswordFile(configDir);
  const given = env[ADMIN_PASSWORD_ENV];
  if (given !== undefined && given !== "") {
    if (given.length < MIN_LENGTH) throw new LocalPlatformError(`${ADMIN_PASSWORD_ENV} must have at least ${MIN_LENGTH} characters`);
    return { username: ADMIN_USERNAME, password: given, source: "env", file };
  }
  if (existsSync(file)) return { username: ADMIN_USERNAME, password: readFileSync(file, "utf8").trim(), source: "file", file };
  const password = randomBytes(18).toString("base64url");
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return { username: ADMIN_USERNAME, password, source: "generated", file };
}

/** The password demo traffic logs in with: MLOPS_ADMIN_PASSWORD, else the kept file; undefined when neither. */
export function readAdminPassword(configDir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const given = env[ADMIN_PASSWORD_ENV];
  if (given) return given;
  const file = adminPasswordFile(configDir);
  return existsSync(file) ? readFileSync(file, "utf8").trim() : undefined;
}
