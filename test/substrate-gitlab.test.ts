/**
 * Issue 16: HipaaSubstrate takes `gitlab: {...}`: a GitLab governance stack from the same
 * environments, whose protected refs are exactly what the GCP stacks' GitLab trusts accept.
 */
import { TerraformStack, Testing } from "cdktf";
import { REFERENCE_ENVIRONMENTS, REFERENCE_REPOSITORIES } from "../examples/reference/main";
import { COMPLIANCE_PLATFORM, COMPLIANCE_PLATFORM_ID, COMPLIANCE_TEAM, RELEASE_APPROVERS } from "../examples/gcp-gitlab/main";
import { HipaaSubstrate } from "../src";
import { resourcesOf, SynthResult } from "./support/synth";
import { REFERENCE_GITHUB } from "./support/substrate-config";

function build(): { substrate: HipaaSubstrate; stacks: Map<string, SynthResult> } {
  const app = Testing.app();
  const substrate = new HipaaSubstrate(app, "clinical", {
    ...REFERENCE_GITHUB,
    environments: REFERENCE_ENVIRONMENTS,
    repositories: REFERENCE_REPOSITORIES,
    gcp: {
      region: "us-central1",
      projects: Object.fromEntries(REFERENCE_ENVIRONMENTS.map((e, i) => [e.name, { id: `hipaa-health-${e.name}`, number: `${i + 1}0000000000` }])),
      stateBuckets: Object.fromEntries(
        REFERENCE_ENVIRONMENTS.map((e) => [e.name, { bucket: `hipaa-health-${e.name}-tfstate`, kmsEncryptionKey: `projects/hipaa-health-${e.name}/locations/us-central1/keyRings/tfstate/cryptoKeys/tfstate` }]),
      ),
    },
    gitlab: {
      approvals: Object.fromEntries(REFERENCE_ENVIRONMENTS.map((e) => [e.name, { approverGroup: RELEASE_APPROVERS }])),
      projects: [{ project: COMPLIANCE_PLATFORM, projectId: COMPLIANCE_PLATFORM_ID, maintainerGroup: COMPLIANCE_TEAM, deploysTo: REFERENCE_ENVIRONMENTS.map((e) => e.name) }],
    },
  });
  const stacks = app.node.children.filter((c): c is TerraformStack => TerraformStack.isStack(c));
  return { substrate, stacks: new Map(stacks.map((s) => { const json = Testing.synth(s, true); return [s.node.id, { json, tf: JSON.parse(json) }]; })) };
}

describe("HipaaSubstrate with gitlab", () => {
  const { substrate, stacks } = build();

  test("writes a GitLab governance stack beside the GitHub one", () => {
    expect([...stacks.keys()]).toContain("clinical-gitlab");
    expect(substrate.gitlab).toBeDefined();
    expect(Object.keys(resourcesOf(stacks.get("clinical-gitlab")!, "gitlab_project_protected_environment"))).toHaveLength(REFERENCE_ENVIRONMENTS.length);
  });

  test.each(REFERENCE_ENVIRONMENTS.map((e) => e.name))("%s: the GCP stack's GitLab trust accepts exactly the refs the GitLab stack protects, and the gate names the approver group", (env) => {
    const gcp = stacks.get(`clinical-gcp-${env}`)!;
    const providers = Object.values(resourcesOf(gcp, "google_iam_workload_identity_pool_provider")).filter((p) => /gitlab/.test(p.oidc.issuer_uri));
    expect(providers).toHaveLength(1);
    const condition: string = providers[0].attribute_condition;
    const [subject] = substrate.gitlab!.subjectsFor(env);
    expect(condition).toContain(`assertion.project_id == '${COMPLIANCE_PLATFORM_ID}'`);
    expect(condition).toContain(subject.isPattern ? `assertion.ref.startsWith('${subject.ref.slice(0, -1)}')` : `assertion.ref == '${subject.ref}'`);
    expect(condition).toContain(`assertion.environment == '${env}' && assertion.environment_protected == 'true'`);
    const gitlabJson = stacks.get("clinical-gitlab")!.json;
    expect(gitlabJson).toContain(subject.isPattern ? `"tag": "${subject.ref}"` : `"branch": "${subject.ref}"`);
    const gate = substrate.gcpStacks.get(env)!.node.tryFindChild("DeployGate") as unknown as { document: { hipaa_substrate: { approvers: { teams: string[] } } } };
    expect(gate.document.hipaa_substrate.approvers.teams).toEqual(expect.arrayContaining(["5502", RELEASE_APPROVERS.path]));
  });
});
