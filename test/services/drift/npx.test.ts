/**
 * `npx mlops-drift ...` as the drift README documents it: from the repository root, through the bin that
 * `npm ci` links (services/drift/bin/mlops-drift.js, committed, so it exists before dist/ is built).
 * `--no-install`: npx never asks the registry for a package of that name.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../../..");
const SHIM = path.join(ROOT, "services/drift/bin/mlops-drift.js");
const npx = (args: string[]) => spawnSync("npx", ["--no-install", "mlops-drift", ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });

test("npx --no-install mlops-drift --help, from the repository root after the build: the usage, exit 0", () => {
  const r = npx(["--help"]);
  expect([r.status, r.stderr]).toEqual([0, ""]);
  expect(r.stdout).toContain("mlops-drift profile --input");
  expect(r.stdout).toContain("mlops-drift compare --reference");
});

test("the CLI's exit code and messages come through the shim (2 on a usage error)", () => {
  const r = npx(["nonsense"]);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/^mlops-drift: /);
});

test("npm links the committed shim, not a build output", () => {
  expect(JSON.parse(readFileSync(path.join(ROOT, "services/drift/package.json"), "utf8")).bin).toEqual({ "mlops-drift": "bin/mlops-drift.js" });
  expect(realpathSync(path.join(ROOT, "node_modules/.bin/mlops-drift"))).toBe(realpathSync(SHIM));
  expect(statSync(SHIM).mode & 0o111).toBe(0o111);
});

test("before the build, the shim says how to build (exit 2) instead of a module-not-found trace", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "mlops-drift-bin-"));
  try {
    mkdirSync(path.join(dir, "bin"));
    copyFileSync(SHIM, path.join(dir, "bin", "mlops-drift.js"));
    const r = spawnSync(process.execPath, [path.join(dir, "bin", "mlops-drift.js"), "--help"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("the drift service is not built yet");
    expect(r.stderr).toContain("npm run build -w services/common -w services/drift");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
