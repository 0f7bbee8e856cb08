import { TerraformStack, Testing } from "cdktf";
import { buildReferenceApp, REFERENCE_ACCOUNTS, REFERENCE_APPROVED_RELEASE, REFERENCE_ENVIRONMENTS } from "../examples/reference/main";
import { Environment, EnvironmentTier } from "../src/model";
import { actionsOf, refusal, resourcesOf, Statement, statements, SynthResult } from "./support/synth";

function synthApp(environments = REFERENCE_ENVIRONMENTS): Map<string, SynthResult> {
  const app = buildReferenceApp(Testing.app(), environments);
  const stacks = app.node.children.filter((c): c is TerraformStack => TerraformStack.isStack(c));
  return new Map(stacks.map((s) => {
    const json = Testing.synth(s, true);
    return [s.node.id, { json, tf: JSON.parse(json) }];
  }));
}

describe("reference app", () => {
  const stacks = synthApp();

  test("writes one stack per environment", () => {
    expect([...stacks.keys()]).toEqual(["clinical-github", "clinical-archive", "clinical-dev", "clinical-staging", "clinical-validation", "clinical-production"]);
  });

  /** The archive's resources of one environment (construct ids Evidence-ENV, EvidenceAccessLogs-ENV). */
  const archiveOf = (name: string): SynthResult => {
    const archive = stacks.get("clinical-archive")!;
    const mine = (id: string) => id.startsWith(`Evidence-${name}_`) || id.startsWith(`EvidenceAccessLogs-${name}_`);
    const resource = Object.fromEntries(Object.entries(archive.tf.resource).map(([type, byId]) => [type, Object.fromEntries(Object.entries(byId).filter(([id]) => mine(id)))]));
    return { json: archive.json, tf: { ...archive.tf, resource } };
  };

  test.each(REFERENCE_ENVIRONMENTS.map((e) => e.name))("%s: evidence bucket (in the archive) and signing key hold every required property", (name) => {
    const env = stacks.get(`clinical-${name}`)!;
    const provider = (env.tf as any).provider.aws[0];
    expect(provider.allowed_account_ids).toEqual([REFERENCE_ACCOUNTS[name]]);
    expect(resourcesOf(env, "aws_s3_bucket")).toEqual({});
    const out = archiveOf(name);

    const buckets = Object.values(resourcesOf(out, "aws_s3_bucket"));
    expect(buckets).toHaveLength(2);
    for (const b of buckets) expect(b).toMatchObject({ force_destroy: false, lifecycle: { prevent_destroy: true } });
    expect(buckets.filter((b) => b.object_lock_enabled === true)).toHaveLength(1);

    const [lock] = Object.values(resourcesOf(out, "aws_s3_bucket_object_lock_configuration"));
    expect(lock.rule.default_retention).toEqual({ mode: "COMPLIANCE", days: 2190 });
    for (const v of Object.values(resourcesOf(out, "aws_s3_bucket_versioning"))) expect(v.versioning_configuration.status).toBe("Enabled");
    for (const p of Object.values(resourcesOf(out, "aws_s3_bucket_public_access_block"))) {
      expect(p).toMatchObject({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true });
    }
    for (const o of Object.values(resourcesOf(out, "aws_s3_bucket_ownership_controls"))) expect(o.rule.object_ownership).toBe("BucketOwnerEnforced");
    const sse = Object.values(resourcesOf(out, "aws_s3_bucket_server_side_encryption_configuration")).map((s) => s.rule[0]);
    expect(sse).toContainEqual(expect.objectContaining({ bucket_key_enabled: true, apply_server_side_encryption_by_default: expect.objectContaining({ sse_algorithm: "aws:kms" }) }));
    for (const p of Object.values(resourcesOf(out, "aws_s3_bucket_policy"))) {
      expect(statements(p.policy).find((s) => s.Sid === "DenyInsecureTransport")?.Condition).toEqual({ Bool: { "aws:SecureTransport": "false" } });
    }
    expect(Object.values(resourcesOf(out, "aws_s3_bucket_logging"))).toHaveLength(1);

    const keys = [...Object.values(resourcesOf(out, "aws_kms_key")), ...Object.values(resourcesOf(env, "aws_kms_key"))];
    const signing = keys.find((k) => k.key_usage === "SIGN_VERIFY")!;
    const evidence = keys.find((k) => /^HIPAA evidence encryption/.test(k.description))!;
    expect(signing).toMatchObject({ customer_master_key_spec: "ECC_NIST_P256", deletion_window_in_days: 30, lifecycle: { prevent_destroy: true } });
    expect(signing.enable_key_rotation).toBeUndefined();
    expect(evidence).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30, lifecycle: { prevent_destroy: true } });
    expect(Object.values(resourcesOf(env, "aws_kms_alias")).map((a) => a.name)).toContain(`alias/hipaa-cosign-${name}`);
  });

  test("bucket names differ per environment and are stable", () => {
    const names = [...stacks.entries()].filter(([n]) => n !== "clinical-github").map(([, s]) => s).flatMap((s) => Object.values(resourcesOf(s, "aws_s3_bucket")).map((b) => b.bucket));
    expect(new Set(names).size).toBe(names.length);
    const again = [...synthApp().entries()].filter(([n]) => n !== "clinical-github").map(([, s]) => s).flatMap((s) => Object.values(resourcesOf(s, "aws_s3_bucket")).map((b) => b.bucket));
    expect(again).toEqual(names);
  });

  test("adding an environment leaves existing logical IDs and names unchanged", () => {
    const before = stacks.get("clinical-production")!;
    const extra = [...REFERENCE_ENVIRONMENTS, new Environment({ name: "dr", tier: EnvironmentTier.PRODUCTION })];
    const after = synthApp(extra).get("clinical-production")!;
    expect(after.tf.resource).toEqual(before.tf.resource);
  });

  test("duplicate environment names are refused", () => {
    const dup = [...REFERENCE_ENVIRONMENTS, new Environment({ name: "dev", tier: EnvironmentTier.STAGING })];
    expect(refusal(() => buildReferenceApp(Testing.app(), dup))).toContain('environment name "dev" appears more than once');
  });

  describe("GitHub governance survives the first apply and day 2", () => {
    const github = () => stacks.get("clinical-github")!;
    const release = `@refs/tags/${REFERENCE_APPROVED_RELEASE}`;

    test("runner groups admit exactly the approved release of each compliance workflow (GitHub matches selected_workflows exactly)", () => {
      const groups = Object.values(resourcesOf(github(), "github_actions_runner_group"));
      expect(groups).toHaveLength(REFERENCE_ENVIRONMENTS.length);
      for (const g of groups) {
        const deploy = g.name === "hipaa-production" ? "deploy-prod.yml" : "deploy.yml";
        expect(g.restricted_to_workflows).toBe(true);
        expect(g.selected_workflows).toEqual([
          `hipaa-app-org/compliance-workflows/.github/workflows/${deploy}${release}`,
          `hipaa-app-org/compliance-workflows/.github/workflows/hipaa-build.yml${release}`,
        ]);
      }
    });

    test("the runner groups and every AWS trust name the same release", () => {
      const selected = new Set(Object.values(resourcesOf(github(), "github_actions_runner_group")).flatMap((g) => g.selected_workflows as string[]));
      const trusted = new Set(
        all.flatMap(([, out]) => Object.values(resourcesOf(out, "aws_iam_role")).flatMap((r) => statements(r.assume_role_policy)))
          .map((t) => t.Condition?.StringEquals?.["token.actions.githubusercontent.com:job_workflow_ref"])
          .filter((v): v is string => v !== undefined),
      );
      expect(trusted.size).toBe(3);
      for (const ref of trusted) expect(selected.has(ref)).toBe(true);
    });

    test("the private compliance repository's reusable workflows are callable by the organization's repositories", () => {
      const [repoId] = Object.keys(resourcesOf(github(), "github_repository"));
      expect(Object.values(resourcesOf(github(), "github_actions_repository_access_level"))).toEqual([
        { repository: `\${github_repository.${repoId}.name}`, access_level: "organization" },
      ]);
    });

    test("CODEOWNERS is committed once, before the rulesets, and never managed again", () => {
      const files = resourcesOf(github(), "github_repository_file");
      const [[codeownersId, codeowners]] = Object.entries(files).filter(([, f]) => f.file === ".github/CODEOWNERS");
      expect(codeowners).toMatchObject({ overwrite_on_create: false, lifecycle: { ignore_changes: "all" }, content: expect.stringContaining("* @hipaa-app-org/compliance") });
      for (const ruleset of Object.values(resourcesOf(github(), "github_repository_ruleset")).filter((r) => String(r.repository).includes("github_repository."))) expect(ruleset.depends_on).toContain(`github_repository_file.${codeownersId}`);
    });
  });

  // The environment stacks: the archive names every environment's account by design (its own tests below).
  const all = [...stacks.entries()].filter(([name]) => name !== "clinical-github" && name !== "clinical-archive");

  describe("identity and runner isolation (every stack)", () => {
    const policiesOf = (out: SynthResult): string[] => [
      ...Object.values(resourcesOf(out, "aws_iam_role")).map((r) => r.assume_role_policy),
      ...Object.values(resourcesOf(out, "aws_iam_role_policy")).map((r) => r.policy),
      ...Object.values(resourcesOf(out, "aws_s3_bucket_policy")).map((r) => r.policy),
      ...Object.values(resourcesOf(out, "aws_kms_key")).map((r) => r.policy),
    ];

    test.each(all)("%s: every policy is JSON before Terraform evaluates it", (_, out) => {
      for (const p of policiesOf(out)) expect(() => JSON.parse(p)).not.toThrow();
    });

    test.each(all)("%s: every role trusting GitHub pins aud, sub, repository_id and the approved release's job_workflow_ref with StringEquals; no StringLike", (_, out) => {
      const gh = "token.actions.githubusercontent.com";
      const trusts = Object.values(resourcesOf(out, "aws_iam_role"))
        .flatMap((r) => statements(r.assume_role_policy))
        .filter((s: Statement) => String(s.Principal?.Federated ?? "").includes("GithubOidc"));
      expect(trusts.length).toBeGreaterThanOrEqual(2);
      for (const t of trusts) {
        const eq = t.Condition!.StringEquals;
        expect(eq[`${gh}:aud`]).toBe("sts.amazonaws.com");
        expect(eq[`${gh}:sub`]).toMatch(/^repo:hipaa-app-org(@1342004)?\/(clinical-platform|patient-portal(@260064950)?):environment:[a-z]+$/);
        expect(["260064828", "260064950"]).toContain(eq[`${gh}:repository_id`]);
        for (const v of Object.values(eq)) expect(v).not.toMatch(/[*?]/);
        expect(eq[`${gh}:job_workflow_ref`]).toMatch(new RegExp(`^hipaa-app-org/compliance-workflows/\\.github/workflows/(deploy|deploy-prod|hipaa-build)\\.yml@refs/tags/${REFERENCE_APPROVED_RELEASE.replace(/\./g, "\\.")}$`));
        expect(t.Condition!.StringLike).toBeUndefined();
      }
    });

    test.each(all)("%s: every IRSA trust pins sub and aud", (_, out) => {
      const irsa = Object.values(resourcesOf(out, "aws_iam_role"))
        .flatMap((r) => statements(r.assume_role_policy))
        .filter((s: Statement) => s.Sid === "IrsaServiceAccount");
      expect(irsa).toHaveLength(3);
      for (const t of irsa) {
        const keys = Object.keys(t.Condition!.StringEquals);
        expect(keys.some((k) => k.endsWith(":sub"))).toBe(true);
        expect(keys.some((k) => k.endsWith(":aud"))).toBe(true);
      }
    });

    test.each(all)("%s: every node group is tainted, has no remote_access and a hardened launch template", (_, out) => {
      const groups = Object.values(resourcesOf(out, "aws_eks_node_group"));
      expect(groups).toHaveLength(3);
      const templates = resourcesOf(out, "aws_launch_template");
      for (const g of groups) {
        expect(g.taint.length).toBeGreaterThan(0);
        expect(g.remote_access).toBeUndefined();
        const templateName = /aws_launch_template\.([^.]+)\.id/.exec(g.launch_template.id)![1];
        const t = templates[templateName];
        expect(t.metadata_options.http_tokens).toBe("required");
        expect(t.metadata_options.http_put_response_hop_limit).toBe(1);
        for (const b of t.block_device_mappings) expect(b.ebs.encrypted).toBe("true");
      }
    });

    test.each(all)("%s: no policy grants a wildcard action", (_, out) => {
      for (const p of policiesOf(out)) {
        for (const s of statements(p).filter((x) => x.Effect === "Allow")) expect(actionsOf(s).some((a) => a === "*" || a.endsWith(":*"))).toBe(false);
      }
    });

    test("no non-production policy names a production account or resource, and the reverse", () => {
      const prodAccount = REFERENCE_ACCOUNTS.production;
      const others = Object.entries(REFERENCE_ACCOUNTS).filter(([e]) => e !== "production");
      for (const [name, out] of all) {
        const text = policiesOf(out).join("\n") + JSON.stringify(resourcesOf(out, "aws_eks_access_policy_association")) + JSON.stringify(resourcesOf(out, "aws_eks_access_entry"));
        if (name === "clinical-production") {
          for (const [env, account] of others) {
            expect(text).not.toContain(account);
            expect(text).not.toMatch(new RegExp(`clinical-${env}\\b|environment:${env}\\b|ci-${env}-`));
          }
        } else {
          expect(text).not.toContain(prodAccount);
          expect(text).not.toMatch(/clinical-production|environment:production|ci-production-/);
        }
      }
    });
  });
});
