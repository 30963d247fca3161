/**
 * `npm run plan -- <stack> [--json] [--policy]`: runs the stack program offline under Pulumi's mocks
 * with the stack's real config and prints what it declares. With --policy, also runs the policy pack's
 * rules over those resources and exits non-zero on a mandatory violation. No cloud credentials needed.
 */
import { runProgram, type PlanResult } from "./harness";
import { listStacks } from "./stack-config";
import { countByType, renderTree } from "./tree";

interface PolicyViolation {
  policy: string;
  resource: string;
  message: string;
  level: "advisory" | "mandatory" | "disabled";
}
type PolicyGate = (plan: PlanResult) => Promise<PolicyViolation[]>;

async function cli(argv: string[]): Promise<number> {
  const flags = new Set(argv.filter((a) => a.startsWith("--")));
  const positional = argv.filter((a) => !a.startsWith("--"));
  const unknown = [...flags].filter((f) => !["--json", "--policy"].includes(f));
  if (positional.length !== 1 || unknown.length) {
    process.stderr.write(`usage: npm run plan -- <stack> [--json] [--policy]\nstacks: ${listStacks().join(", ")}\n`);
    return 2;
  }
  const stack = positional[0];
  let plan: PlanResult;
  try {
    plan = await runProgram({ stack });
  } catch (err) {
    process.stderr.write(`plan for stack "${stack}" failed: ${(err as Error).message}\n`);
    return 1;
  }
  let violations: PolicyViolation[] = [];
  if (flags.has("--policy")) {
    const gate = (require("./policy-gate") as { runPolicyGate: PolicyGate }).runPolicyGate;
    violations = await gate(plan);
  }
  const mandatory = violations.filter((v) => v.level === "mandatory");
  if (flags.has("--json")) {
    const body: Record<string, unknown> = {
      stack,
      resources: plan.resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, parent: r.parent ?? null })),
      counts: countByType(plan.resources),
      outputs: Object.keys(plan.outputs),
    };
    if (flags.has("--policy")) body.violations = violations;
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  } else {
    process.stdout.write(`Stack ${plan.project}/${stack}: ${plan.resources.length} resources\n\n${renderTree(plan.resources)}\n\nBy type:\n`);
    for (const [type, n] of Object.entries(countByType(plan.resources))) process.stdout.write(`  ${String(n).padStart(4)}  ${type}\n`);
    process.stdout.write(`\nOutputs: ${Object.keys(plan.outputs).join(", ")}\n`);
    if (flags.has("--policy")) {
      process.stdout.write(`\nPolicy violations: ${violations.length} (${mandatory.length} mandatory)\n`);
      for (const v of violations) process.stdout.write(`  [${v.level}] ${v.policy}  ${v.resource}\n      ${v.message}\n`);
    }
  }
  return mandatory.length > 0 ? 1 : 0;
}

cli(process.argv.slice(2)).then(
  // Exit only once stdout has drained: a pipe takes writes asynchronously, and exiting at once cut --json at 64 KiB.
  (code) => process.stdout.write("", () => process.exit(code)),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
