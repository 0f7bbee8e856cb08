import { readdirSync } from "fs";
import { join } from "path";
import { ALL_RULES, evaluate, loadUnits } from "../src/compliance";

/**
 * Each rule's own fixtures: test/fixtures/rules/<RULE>/{pass,fail}/<case>.tf(.json). In a `fail`
 * case the rule fails at least one resource; in a `pass` case it judges at least one resource and
 * passes every one. The same files feed the Checkov differential (tools/checkov-differential.ts).
 */
const ROOT = join(__dirname, "fixtures", "rules");

const cases: [string, "pass" | "fail", string][] = [];
for (const rule of readdirSync(ROOT).sort()) {
  for (const verdict of ["pass", "fail"] as const) {
    let files: string[] = [];
    try {
      files = readdirSync(join(ROOT, rule, verdict)).sort();
    } catch {
      continue;
    }
    for (const file of files) cases.push([rule, verdict, join(ROOT, rule, verdict, file)]);
  }
}

describe("rule fixtures", () => {
  test("every fixture folder names a rule", () => {
    for (const [rule] of cases) expect(ALL_RULES.map((r) => r.id)).toContain(rule);
  });

  test.each(cases)("%s %s: %s", async (ruleId, verdict, file) => {
    const rule = ALL_RULES.find((r) => r.id === ruleId)!;
    const findings = evaluate(await loadUnits([file]), [rule]);
    expect(findings.length).toBeGreaterThan(0);
    if (verdict === "fail") expect(findings.some((f) => f.verdict === "fail")).toBe(true);
    else expect(findings.filter((f) => f.verdict === "fail").map((f) => `${f.resource}: ${f.message}`)).toEqual([]);
  });
});

describe("claimed equivalents", () => {
  test("KICS claims carry the query's UUID and name; Checkov claims are check ids", () => {
    for (const rule of ALL_RULES) {
      for (const q of rule.kics ?? []) {
        expect(q.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        expect(q.name.length).toBeGreaterThan(5);
      }
      for (const e of rule.equivalents) expect(e).toMatch(/^(AVD-(AWS|GCP|GIT)-\d{4}|CKV2?_(AWS|GCP|GIT)_\d+)$/);
    }
  });
});

describe("parity with Checkov and KICS (parity-denominator.json)", () => {
  const { loadDenominator, parityShares } = require("../tools/parity");
  const denominator = loadDenominator(join(__dirname, ".."));

  test("every Checkov claim is a check on the resource types we judge", () => {
    const known = new Set(denominator.checkov.checks.map((c: { id: string }) => c.id));
    const claimed = ALL_RULES.flatMap((r) => r.equivalents.filter((e) => e.startsWith("CKV")).map((e) => `${r.id} ${e}`));
    expect(claimed.filter((c) => !known.has(c.split(" ")[1]))).toEqual([]);
  });

  test("every KICS claim names a query of Checkmarx/kics with its exact UUID and name", () => {
    const known = new Map([...denominator.kics.queries, ...denominator.kics.claimedOnOtherTypes].map((q: { id: string; name: string }) => [q.id, q.name]));
    const wrong = ALL_RULES.flatMap((r) => (r.kics ?? []).filter((q) => known.get(q.id) !== q.name).map((q) => `${r.id} ${q.id} ${q.name}`));
    expect(wrong).toEqual([]);
  });

  test("the denominator covers every resource type a rule judges", () => {
    const types = new Set(ALL_RULES.flatMap((r) => r.resourceTypes).filter((t) => t !== "*"));
    expect([...types].filter((t) => !denominator.resourceTypes.includes(t))).toEqual([]);
  });

  test("at least half of Checkov's checks and of KICS's queries on our resource types are claimed", () => {
    const s = parityShares(denominator, ALL_RULES);
    expect(s.checkov.onOurTypes * 2).toBeGreaterThanOrEqual(s.checkov.total);
    expect(s.kics.onOurTypes * 2).toBeGreaterThanOrEqual(s.kics.total);
  });
});

describe("policy documents in every shape", () => {
  const { parseHclExpression } = require("../src/compliance");
  test("jsonencode arguments: HCL objects with bare or quoted keys, references kept as expressions", () => {
    expect(parseHclExpression('{ Version = "2012-10-17", Statement = [{ Effect = "Allow", "Principal" = { Federated = aws_iam_openid_connect_provider.gh.arn }, N = 3, T = true }] }')).toEqual({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Federated: "${aws_iam_openid_connect_provider.gh.arn}" }, N: 3, T: true }],
    });
    expect(parseHclExpression('{\n  a = var.x ? "b" : "c" # comment\n  b = lookup(local.m, "k")\n}')).toEqual({ a: '${var.x ? "b" : "c"}', b: '${lookup(local.m, "k")}' });
    expect(parseHclExpression("{ a = ")).toBeUndefined();
  });
});
