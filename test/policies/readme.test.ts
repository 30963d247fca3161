import { readFileSync } from "node:fs";
import path from "node:path";
import { allRules, rulesByArea } from "../../policies/rules";
import { readmeWithTable, ruleTable } from "../../policies/tools/rule-table";

const README = path.resolve(__dirname, "..", "..", "policies", "README.md");

test("the README's rule table is the one generated from the rules and the environment files", () => {
  const readme = readFileSync(README, "utf8");
  expect(readmeWithTable(readme)).toBe(readme);
});

test("the table lists every rule once, with the count per area", () => {
  const table = ruleTable();
  for (const rule of allRules) expect(table.split(`\`${rule.name}\``).length).toBe(2);
  for (const [area, rules] of Object.entries(rulesByArea)) expect(table).toContain(`| ${area} | ${rules.length} |`);
  expect(table).toContain(`| **total** | **${allRules.length}** |`);
});
