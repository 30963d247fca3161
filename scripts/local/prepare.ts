/**
 * What `npm start` needs before anything runs: the services compiled (only those whose sources changed
 * since their last build) and the demo fraud model with its reference profile (only when absent).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { makeDemoModel } from "@mlops/dev-fixtures";

/** In build order: common first, the others use it. */
const WORKSPACES = [
  { dir: "services/common", output: "dist/index.js" },
  { dir: "services/serving", output: "dist/main.js" },
  { dir: "services/drift", output: "dist/main.js" },
  { dir: "services/monitor", output: "dist/main.js" },
  { dir: "services/api", output: "dist/main.js" },
];

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** Builds each workspace whose output is missing or older than its sources; returns what it built. */
export function buildStaleServices(root: string, log: (line: string) => void): string[] {
  const built: string[] = [];
  for (const ws of WORKSPACES) {
    const output = path.join(root, ws.dir, ws.output);
    const stale = !existsSync(output) || newestMtime(path.join(root, ws.dir, "src")) > statSync(output).mtimeMs || built.includes("services/common");
    if (!stale) continue;
    log(`building ${ws.dir}`);
    const result = spawnSync("npm", ["run", "build", "--silent", "-w", ws.dir], { cwd: root, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`building ${ws.dir} failed:\n${(result.stdout + result.stderr).trim()}`);
    built.push(ws.dir);
  }
  return built;
}

export interface DemoAssets {
  modelDir: string;
  trainCsv: string;
  profile: string;
  created: boolean;
}

export const PROFILE_FILE = "reference_profile.json";

/**
 * The demo model directory (MLmodel + model.onnx) with the reference profile next to the model, as
 * the drift service expects it in a registry version; made by the project's own scripts when absent.
 */
export async function ensureDemoAssets(root: string, demoDir: string, log: (line: string) => void): Promise<DemoAssets> {
  const modelDir = path.join(demoDir, "fraud-detector");
  const trainCsv = path.join(demoDir, "train.csv");
  const profile = path.join(modelDir, PROFILE_FILE);
  const present = [path.join(modelDir, "MLmodel"), path.join(modelDir, "model.onnx"), trainCsv, profile].every((f) => existsSync(f));
  if (present) return { modelDir, trainCsv, profile, created: false };

  log(`generating the demo fraud model in ${demoDir}`);
  const demo = await makeDemoModel(demoDir);
  log(`  trained on ${trainCsv}: accuracy ${demo.accuracy.toFixed(3)} (on shifted data ${demo.shiftedAccuracy.toFixed(3)}); model.onnx sha256 ${demo.sha256.slice(0, 12)}...`);
  // The drift service's own CLI builds the profile, as a data scientist would before registering.
  const cli = path.join(root, "services/drift/dist/cli.js");
  const result = spawnSync(process.execPath, [cli, "profile", "--input", trainCsv, "--out", profile, "--ignore", "is_fraud"], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`mlops-drift profile failed:\n${(result.stdout + result.stderr).trim()}`);
  const said = `${result.stdout}${result.stderr}`.trim().split("\n").pop();
  if (said) log(`  ${said}`);
  return { modelDir, trainCsv, profile, created: true };
}
