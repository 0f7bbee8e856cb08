import { Cfr, hipaaControl, hipaaControls } from "../src/compliance";
import { HipaaConfigError } from "../src/errors";

describe("HipaaConfigError", () => {
  test("message carries path, problem, CFR section and fix", () => {
    const e = new HipaaConfigError({
      path: "clinical/production/DeployRole",
      problem: 'OIDC subject "repo:hipaa-app-org/*" contains a wildcard',
      cfr: "164.308(a)(4)",
      fix: "pin it to one repository and environment",
    });
    expect(e.message).toBe('clinical/production/DeployRole: OIDC subject "repo:hipaa-app-org/*" contains a wildcard (45 CFR 164.308(a)(4)); pin it to one repository and environment');
    expect(HipaaConfigError.isHipaaConfigError(e)).toBe(true);
    expect(HipaaConfigError.isHipaaConfigError(new Error("x"))).toBe(false);
  });

  test("the CFR part is omitted when no section applies", () => {
    expect(new HipaaConfigError({ path: "p", problem: "bad", fix: "good" }).message).toBe("p: bad; good");
  });
});

describe("HIPAA control catalog", () => {
  const required = [
    "164.308(a)(1)(ii)(D)",
    "164.308(a)(3)",
    "164.308(a)(4)",
    "164.308(a)(5)(ii)(C)",
    "164.308(a)(8)",
    "164.308(b)(1)",
    "164.312(a)(1)",
    "164.312(a)(2)(iv)",
    "164.312(b)",
    "164.312(c)(1)",
    "164.312(d)",
    "164.312(e)(1)",
    "164.316(b)(2)(i)",
  ];

  test("holds every section the substrate serves, each with a title and an auditor question", () => {
    expect(hipaaControls().map((c) => c.section)).toEqual(required);
    for (const c of hipaaControls()) {
      expect(c.title.length).toBeGreaterThan(5);
      expect(c.auditorQuestion).toMatch(/[?.]$/);
      expect(c.substrateAnswer.length).toBeGreaterThan(20);
    }
  });

  test("named sections resolve, unknown ones are refused", () => {
    for (const section of Object.values(Cfr)) expect(hipaaControl(section).section).toBe(section);
    expect(() => hipaaControl("164.999")).toThrow("not in the control catalog");
  });
});
