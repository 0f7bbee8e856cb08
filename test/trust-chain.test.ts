/**
 * Issue 12: only reviewed code, from one protected ref, in one environment, reaches a cloud
 * credential, and that credential reaches only its own application's resources.
 */
import { TerraformStack, Testing } from "cdktf";
import { buildReferenceApp, REFERENCE_REPOSITORIES } from "../examples/reference/main";
import { refusal, resourcesOf, statements, SynthResult } from "./support/synth";

function synthAll(app: ReturnType<typeof Testing.app>): Map<string, SynthResult> {
  const stacks = app.node.children.filter((c): c is TerraformStack => TerraformStack.isStack(c));
  return new Map(stacks.map((s) => [s.node.id, (() => { const json = Testing.synth(s, true); return { json, tf: JSON.parse(json) }; })()]));
}

describe("least privilege per application (AWS)", () => {
  const stacks = synthAll(buildReferenceApp(Testing.app()));
  const production = stacks.get("clinical-production")!;

  test("each repository's deploy role reaches only its own namespace; the deploy pool the union of the environment's", () => {
    const roles = resourcesOf(production, "aws_iam_role");
    const associations = Object.values(resourcesOf(production, "aws_eks_access_policy_association")).filter((a) => a.access_scope.type === "namespace");
    const byRole = new Map<string, string[]>();
    for (const a of associations) {
      const roleId = /aws_iam_role\.([^.]+)\.arn/.exec(a.principal_arn)![1];
      byRole.set(roles[roleId].name, a.access_scope.namespaces);
    }
    const deployers = REFERENCE_REPOSITORIES.filter((r) => r.deploysTo.includes("production"));
    for (const repo of deployers) {
      const [roleName] = [...byRole.keys()].filter((n) => n.includes(repo.name) && !n.includes("evidence"));
      expect(roleName).toBeDefined();
      expect(byRole.get(roleName)).toEqual([repo.name]);
    }
    const pool = [...byRole.entries()].find(([n]) => n === "hipaa-production-deploy-runner")!;
    expect(pool[1].sort()).toEqual(deployers.map((r) => r.name).sort());
  });

  test("each repository's evidence writer writes only under <repository>/<environment>/, new keys only", () => {
    const writers = Object.values(resourcesOf(production, "aws_iam_role_policy")).filter((p) => /EvidenceWriter/.test(p.role));
    expect(writers.length).toBe(REFERENCE_REPOSITORIES.filter((r) => r.deploysTo.includes("production")).length);
    for (const w of writers) {
      const puts = statements(w.policy).filter((s) => [s.Action].flat().includes("s3:PutObject"));
      expect(puts).toHaveLength(2);
      const repo = REFERENCE_REPOSITORIES.find((r) => w.role.includes(r.name.replace(/[^A-Za-z0-9]/g, "")) || w.policy.includes(`/${r.name}/production/*`))!;
      for (const s of puts) expect(s.Resource).toMatch(new RegExp(`/${repo.name}/production/\\*$`));
      expect(puts.map((s) => s.Condition)).toEqual([{ Null: { "s3:if-none-match": "false" } }, { Bool: { "s3:ObjectCreationOperation": "false" } }]);
    }
  });

  test("two repositories cannot share a namespace", () => {
    const shared = [REFERENCE_REPOSITORIES[0], { ...REFERENCE_REPOSITORIES[1], namespaces: [REFERENCE_REPOSITORIES[0].name] }];
    expect(refusal(() => buildReferenceApp(Testing.app(), undefined, shared))).toContain(`namespace "${REFERENCE_REPOSITORIES[0].name}" is also ${REFERENCE_REPOSITORIES[0].name}'s`);
  });
});
