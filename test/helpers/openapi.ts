import { execFileSync } from "node:child_process";

/** The document checked against the OpenAPI 3.1 JSON schemas (@seriousme/openapi-schema-validator, an ES module: run apart). */
export function openApiProblems(doc: unknown): { version: string; valid: boolean; errors: unknown[] } {
  const script = `import { Validator } from "@seriousme/openapi-schema-validator";
    const v = new Validator(); const r = await v.validate(JSON.parse(await new Response(process.stdin).text()));
    console.log(JSON.stringify({ version: v.version, valid: r.valid, errors: r.errors ?? [] }));`;
  return JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { input: JSON.stringify(doc), encoding: "utf8" }));
}
