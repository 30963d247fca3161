/**
 * Preloaded into `npm run plan` (node -r) by the gate test: adds the config overrides of
 * PLAN_SEED_OVERRIDES (JSON `{ "namespace:key": "value" }`) to the run, so the real CLI plans a stack
 * with one seeded mistake without writing a stack file into the repository.
 */
const harness = require("../../../scripts/plan/harness") as typeof import("../../../scripts/plan/harness");
const seeded: Record<string, string> = JSON.parse(process.env.PLAN_SEED_OVERRIDES ?? "{}");
const runProgram = harness.runProgram;
(harness as { runProgram: typeof runProgram }).runProgram = (options, ...rest) => runProgram({ ...options, overrides: { ...(options.overrides ?? {}), ...seeded } }, ...rest);
