import type { Rule } from "../../../policies/rules";
import type { DeclaredResource } from "../../../scripts/plan/harness";
import { check, messages } from "../../helpers/policy-engine";

/** One rule against a real-world mistake and its fix. */
export interface RuleCase {
  rule: Rule;
  mistake: string;
  bad: () => DeclaredResource[];
  /** What the violation message must say. */
  expected: RegExp;
  good: () => DeclaredResource[];
  params?: Record<string, unknown>;
  /** Parameters of the passing case when they differ (a relaxed environment). */
  goodParams?: Record<string, unknown>;
}

/** Registers a failing and a passing test per case, and checks that every rule of the area has a case. */
export function runCases(area: string, rules: Rule[], cases: RuleCase[]): void {
  describe.each(cases.map((c) => [c.rule.name, c.mistake, c] as const))("%s", (_name, mistake, c) => {
    test(`fails on ${mistake}`, async () => {
      const violations = await check(c.rule, c.bad(), c.params);
      expect(violations.length).toBeGreaterThan(0);
      expect(messages(violations).join("\n")).toMatch(c.expected);
      expect(violations.every((v) => v.level === "mandatory" && v.policy === c.rule.name)).toBe(true);
    });
    test("passes when it is done right", async () => {
      expect(messages(await check(c.rule, c.good(), c.goodParams ?? c.params))).toEqual([]);
    });
  });

  test(`every ${area} rule has a failing and a passing case`, () => {
    expect(new Set(cases.map((c) => c.rule.name))).toEqual(new Set(rules.map((r) => r.name)));
  });
}
