/** Validation problems as one message for a person: `events[3].timestamp: Invalid ISO datetime; ...`. */
import type { z } from "zod";

export const MAX_LISTED = 5;

export function pathText(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out || "(body)";
}

export function listProblems(problems: string[]): string {
  const shown = problems.slice(0, MAX_LISTED).join("; ");
  return problems.length > MAX_LISTED ? `${shown}; and ${problems.length - MAX_LISTED} more` : shown;
}

export function zodProblems(error: z.ZodError, prefix: readonly PropertyKey[] = []): string[] {
  return error.issues.map((i) => `${pathText([...prefix, ...i.path])}: ${i.message}`);
}
