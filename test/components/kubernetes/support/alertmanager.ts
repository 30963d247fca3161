import { writeFileSync } from "node:fs";
import path from "node:path";
import { stringify } from "yaml";
import { run } from "../../../helpers/tools";

/** Writes an Alertmanager configuration as YAML (what the chart puts in its Secret) and returns the file. */
export function writeConfig(dir: string, name: string, config: unknown): string {
  const file = path.join(dir, `${name}.yml`);
  writeFileSync(file, stringify(config, { lineWidth: 0 }));
  return file;
}

/** `amtool check-config <file>`. */
export function checkConfig(amtool: string, file: string) {
  return run(amtool, ["check-config", file]);
}

/** The receivers an alert with these labels reaches, in order (`amtool config routes test`, Alertmanager's own tree walk). */
export function receiversFor(amtool: string, file: string, labels: Record<string, string>): string[] {
  const r = run(amtool, ["config", "routes", "test", `--config.file=${file}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)]);
  if (r.status !== 0) throw new Error(`amtool config routes test failed: ${r.output}`);
  return r.stdout.trim().split(",");
}

/** Every `*_file` / `credentials_file` path a configuration names. */
export function referencedFiles(config: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (/_file$/.test(k) && typeof x === "string") out.push(x);
        else walk(x);
      }
    }
  };
  walk(config);
  return out;
}
