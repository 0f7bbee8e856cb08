import { createHash } from "crypto";
import { mkdtempSync, readdirSync, readFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App, TerraformLocal, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { GithubProvider } from "@cdktf/provider-github/lib/provider";
import { ActionsRepositoryOidcSubjectClaimCustomizationTemplate } from "@cdktf/provider-github/lib/actions-repository-oidc-subject-claim-customization-template";
import { HipaaCompliance, HipaaComplianceError } from "../src/compliance";
import { pass, Rule } from "../src/compliance/checker/rule";
import { main } from "../src/cli";
import { buildReferenceApp } from "../examples/reference/main";
import { refusal } from "./support/synth";

const outdirOf = () => mkdtempSync(join(tmpdir(), "hipaa-gate-"));

function capture() {
  const out: string[] = [];
  return { out, io: { out: (t: string) => out.push(t), err: (t: string) => out.push(t) } };
}

function cliJson(dir: string) {
  const c = capture();
  return main(["check", dir, "--format", "json"], c.io).then((code) => ({ code, ...JSON.parse(c.out.join("")) }));
}

/** Every file under `dir`, relative. */
function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${prefix}${e.name}/`);
      else out.push(`${prefix}${e.name}`);
    }
  };
  walk(dir, "");
  return out.sort();
}

function awsStack(app: App, id: string): TerraformStack {
  const stack = new TerraformStack(app, id);
  new AwsProvider(stack, "aws", { region: "us-east-1" });
  return stack;
}

const REASON = "Imported HSM-backed key rotated by the key ceremony runbook KM-7 every 90 days.";

describe("the gate judges the whole app before anything is written", () => {
  test("a stack created after enable(app) is judged, and nothing is written when it fails", () => {
    const outdir = outdirOf();
    const app = new App({ outdir });
    HipaaCompliance.enable(app);
    awsStack(app, "clean");
    const late = awsStack(app, "late");
    new KmsKey(late, "UnrotatedKey", { description: "the user's own key" });
    const e = (() => {
      try {
        app.synth();
      } catch (err) {
        return err as Error;
      }
      throw new Error("synth passed");
    })();
    expect(e).toBeInstanceOf(HipaaComplianceError);
    expect(e.message).toContain("late/UnrotatedKey: HIPAA-KMS-ROTATION failed (45 CFR 164.312(a)(2)(iv))");
    expect(e.message).toContain("nothing was written");
    // One line per failure, no stack frames.
    expect(e.message.split("HIPAA-KMS-ROTATION failed").length).toBe(2);
    expect(e.stack).not.toMatch(/^\s+at /m);
    // The clean stack was synthesized before the failing one, yet nothing reached the output.
    expect(files(outdir)).toEqual([]);
  });

  /** A role trusting GitHub's production environment of org/app by the default `sub`. */
  const productionDeployRole = (aws: TerraformStack) => {
    const oidc = new IamOpenidConnectProvider(aws, "GitHub", { url: "https://token.actions.githubusercontent.com", clientIdList: ["sts.amazonaws.com"] });
    new IamRole(aws, "Deploy", {
      name: "deploy",
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Federated: oidc.arn },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: { StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:sub": "repo:org/app:environment:production" } },
          },
        ],
      }),
    });
  };

  test("a custom rule that reads another stack's resources without declaring them in acrossStacks stops the synth, naming the rule and the fix", () => {
    const outdir = outdirOf();
    const app = new App({ outdir });
    new S3Bucket(awsStack(app, "one"), "Evidence", { bucket: "one-evidence" });
    new S3Bucket(awsStack(app, "two"), "Evidence", { bucket: "two-evidence" });
    const countsQueues: Rule = {
      id: "ORG-COUNTS-QUEUES",
      title: "Counts every stack's queues",
      severity: "low",
      controls: [],
      resourceTypes: ["aws_s3_bucket"],
      fix: "none",
      equivalents: [],
      evaluate: (_resource, index) => pass(`${index.ofTypeEverywhere("aws_sqs_queue").length} queues`),
    };
    HipaaCompliance.enable(app, { rules: [countsQueues] });
    expect(refusal(() => app.synth())).toContain('rule ORG-COUNTS-QUEUES reads aws_sqs_queue across stacks without declaring it in its acrossStacks: the synth gate would not see the other stacks\' aws_sqs_queue. Fix: add "aws_sqs_queue" to the rule\'s acrossStacks');
    expect(files(outdir)).toEqual([]);
  });

  test("a claim template in one stack that disagrees with a role in another fails synth (cross-stack rule)", () => {
    const app = new App({ outdir: outdirOf() });
    const github = new TerraformStack(app, "github");
    new GithubProvider(github, "github", { owner: "org" });
    new ActionsRepositoryOidcSubjectClaimCustomizationTemplate(github, "Template", { repository: "app", useDefault: false, includeClaimKeys: ["repository_owner_id", "repository_id", "context"] });
    const aws = awsStack(app, "aws");
    productionDeployRole(aws);
    HipaaCompliance.enable(app);
    expect(refusal(() => app.synth())).toMatch(/aws\/Deploy: HIPAA-OIDC-CLAIM-TEMPLATE-CONSISTENCY failed .*emits a sub from repository_owner_id, repository_id, context/);
  });

  test("a claim template in one stack that disagrees with a role in another fails synth when the role's stack comes first (judged again once every stack is staged)", () => {
    const app = new App({ outdir: outdirOf() });
    const aws = awsStack(app, "aws");
    productionDeployRole(aws);
    const github = new TerraformStack(app, "github");
    new GithubProvider(github, "github", { owner: "org" });
    new ActionsRepositoryOidcSubjectClaimCustomizationTemplate(github, "Template", { repository: "app", useDefault: false, includeClaimKeys: ["repository_owner_id", "repository_id", "context"] });
    HipaaCompliance.enable(app);
    expect(refusal(() => app.synth())).toMatch(/aws\/Deploy: HIPAA-OIDC-CLAIM-TEMPLATE-CONSISTENCY failed .*emits a sub from repository_owner_id, repository_id, context/);
  });
});

describe("the written cdk.tf.json", () => {
  test("has every object's keys sorted, overrides cdktf appends out of order included", () => {
    const outdir = outdirOf();
    const app = new App({ outdir });
    const stack = awsStack(app, "user");
    const key = new KmsKey(stack, "Key", { description: "the user's own key", enableKeyRotation: true, policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "Account", Effect: "Allow", Principal: { AWS: "arn:aws:iam::111122223333:root" }, Action: "kms:*", Resource: "*" }] }) });
    // cdktf merges overrides after the resource's own keys: "bypass..." and "tags.a" arrive out of order.
    key.addOverride("bypass_policy_lockout_safety_check", false);
    key.addOverride("tags", { z: "last", a: "first" });
    HipaaCompliance.enable(app);
    app.synth();
    const text = readFileSync(join(outdir, "stacks", "user", "cdk.tf.json"), "utf8");
    const unsorted: string[] = [];
    const walk = (v: unknown, at: string) => {
      if (v === null || typeof v !== "object") return;
      if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${at}[${i}]`));
      const keys = Object.keys(v);
      if (keys.join("\0") !== [...keys].sort().join("\0")) unsorted.push(at);
      for (const k of keys) walk((v as Record<string, unknown>)[k], `${at}.${k}`);
    };
    const doc = JSON.parse(text);
    walk(doc, "$");
    expect(unsorted).toEqual([]);
    const written = Object.values(doc.resource.aws_kms_key)[0] as Record<string, unknown>;
    expect(Object.keys(written).slice(0, 3)).toEqual(["//", "bypass_policy_lockout_safety_check", "description"]);
    expect(Object.keys(written.tags as object)).toEqual(["a", "z"]);
    expect(text).toBe(`${JSON.stringify(doc, null, 2)}`);
  });

  test("a value with toJSON (a Date in a local) is written as cdktf writes it, wherever it sits", () => {
    const outdir = outdirOf();
    const app = new App({ outdir });
    const stack = awsStack(app, "user");
    new TerraformLocal(stack, "approvedAt", [new Date(0)]);
    // More than 32 entries: the streamed writer takes this object entry by entry.
    new TerraformLocal(stack, "many", Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${String(i).padStart(2, "0")}`, i === 5 ? [new Date(0)] : i])));
    HipaaCompliance.enable(app);
    app.synth();
    const text = readFileSync(join(outdir, "stacks", "user", "cdk.tf.json"), "utf8");
    const doc = JSON.parse(text);
    expect(doc.locals.approvedAt).toEqual(["1970-01-01T00:00:00.000Z"]);
    expect(doc.locals.many.k05).toEqual(["1970-01-01T00:00:00.000Z"]);
    const map = JSON.parse(readFileSync(join(outdir, "stacks", "user", "control-map.json"), "utf8"));
    expect(map.input.sha256).toBe(createHash("sha256").update(text).digest("hex"));
  });
});

describe("suppressions travel with the output", () => {
  function suppressedApp() {
    const outdir = outdirOf();
    const app = new App({ outdir });
    const stack = awsStack(app, "user");
    // An explicit key policy, so rotation is the key's only finding.
    const key = new KmsKey(stack, "Legacy", { description: "the user's own key", policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "Account", Effect: "Allow", Principal: { AWS: "arn:aws:iam::111122223333:root" }, Action: "kms:*", Resource: "*" }] }) });
    HipaaCompliance.suppress(key, "HIPAA-KMS-ROTATION", REASON);
    HipaaCompliance.enable(app);
    return { app, outdir };
  }

  test("the CLI over the synthesized output gives exactly synth's verdicts", async () => {
    const { app, outdir } = suppressedApp();
    app.synth();
    const tf = JSON.parse(readFileSync(join(outdir, "stacks", "user", "cdk.tf.json"), "utf8"));
    expect(tf["//"]["cdktf-hipaa-substrate"].suppressions).toEqual([{ resource: "aws_kms_key.Legacy", rule: "HIPAA-KMS-ROTATION", reason: REASON, constructPath: "user/Legacy" }]);
    const map = JSON.parse(readFileSync(join(outdir, "control-map.json"), "utf8"));
    const cli = await cliJson(outdir);
    expect(cli.code).toBe(0);
    const count = (v: string) => cli.findings.filter((f: any) => f.verdict === v).length;
    expect({ pass: count("pass"), fail: count("fail"), suppressed: count("suppressed") }).toEqual(map.summary);
    expect(map.summary.suppressed).toBe(1);
    expect(cli.findings.find((f: any) => f.verdict === "suppressed")).toEqual(expect.objectContaining({ rule: "HIPAA-KMS-ROTATION", resource: "aws_kms_key.Legacy", constructPath: "user/Legacy", suppressionReason: REASON }));
  });

  test("the reference app: the control map and the CLI count the same verdicts, cross-stack rules included", async () => {
    const outdir = outdirOf();
    const app = buildReferenceApp(new App({ outdir }));
    HipaaCompliance.enable(app);
    app.synth();
    const map = JSON.parse(readFileSync(join(outdir, "control-map.json"), "utf8"));
    const cli = await cliJson(outdir);
    expect(cli.code).toBe(0);
    expect(cli.findings.length).toBe(map.summary.pass + map.summary.fail + map.summary.suppressed);
    const cross = map.stacks.flatMap((s: any) => s.sections.flatMap((x: any) => x.verdicts)).filter((v: any) => v.rule === "HIPAA-OIDC-CLAIM-TEMPLATE-CONSISTENCY");
    expect(cross.length).toBeGreaterThan(0);
    // Version, input hash and real names.
    expect(map.generator).toEqual({ name: "cdktf-hipaa-substrate", version: require("../package.json").version });
    for (const s of map.stacks) {
      const text = readFileSync(join(outdir, s.input.file), "utf8");
      expect(s.input.sha256).toBe(createHash("sha256").update(text).digest("hex"));
    }
    const lock = map.stacks
      .find((s: any) => s.stack === "clinical-archive")
      .sections.flatMap((x: any) => x.verdicts)
      .find((v: any) => v.rule === "HIPAA-S3-OBJECT-LOCK");
    expect(lock.name).toMatch(/^[a-z0-9.-]+$/);
    expect(readFileSync(join(outdir, "control-map.md"), "utf8")).toContain(`| \`${lock.resource}\` | \`${lock.name}\` | HIPAA-S3-OBJECT-LOCK | pass |`);
  });

  test("with skipValidation the output says the gate was skipped, loudly, and the CLI refuses it", async () => {
    const outdir = outdirOf();
    const app = new App({ outdir, skipValidation: true });
    const stack = awsStack(app, "user");
    new KmsKey(stack, "UnrotatedKey", { description: "the user's own key" });
    HipaaCompliance.enable(app);
    const stderr = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      app.synth();
      expect(stderr.mock.calls.map((c) => String(c[0])).join("")).toContain("HIPAA GATE SKIPPED");
    } finally {
      stderr.mockRestore();
    }
    const map = JSON.parse(readFileSync(join(outdir, "control-map.json"), "utf8"));
    expect(map.gate).toBe("skipped");
    expect(map.warning).toContain("THE HIPAA GATE DID NOT RUN");
    expect(readFileSync(join(outdir, "control-map.md"), "utf8")).toContain("THE HIPAA GATE DID NOT RUN");
    const c = capture();
    expect(await main(["check", outdir], c.io)).toBe(1);
    expect(c.out.join("")).toContain("GATE SKIPPED");
    expect(c.out.join("")).toContain("FAIL HIPAA-KMS-ROTATION aws_kms_key.UnrotatedKey [user/UnrotatedKey]");
  });
});

describe("suppression by family or by resource, with one reason", () => {
  function bucketApp() {
    const app = new App({ outdir: outdirOf() });
    const stack = awsStack(app, "user");
    const bucket = new S3Bucket(stack, "Scratch", { bucket: "scratch-not-phi" });
    return { app, bucket };
  }

  test("a family covers every HIPAA-S3 rule on the bucket", () => {
    const { app, bucket } = bucketApp();
    HipaaCompliance.suppress(bucket, "HIPAA-S3-*", "Scratch bucket for synthetic test data only; holds no PHI and no evidence.");
    HipaaCompliance.enable(app);
    app.synth();
  });

  test("\"*\" covers every rule on the resource", () => {
    const { app, bucket } = bucketApp();
    HipaaCompliance.suppress(bucket, "*", "Scratch bucket for synthetic test data only; holds no PHI and no evidence.");
    HipaaCompliance.enable(app);
    app.synth();
  });

  test("a list of ids, one reason", () => {
    const { app, bucket } = bucketApp();
    HipaaCompliance.suppress(bucket, ["HIPAA-S3-VERSIONING", "HIPAA-S3-CMK"], "Scratch bucket for synthetic test data only; holds no PHI and no evidence.");
    HipaaCompliance.enable(app);
    expect(refusal(() => app.synth())).not.toContain("HIPAA-S3-VERSIONING failed");
  });

  test("an unknown rule id or family is refused with HipaaConfigError", () => {
    const { bucket } = bucketApp();
    const reason = "Scratch bucket for synthetic test data only; holds no PHI and no evidence.";
    expect(refusal(() => HipaaCompliance.suppress(bucket, "HIPAA-S3-VERSIONNING", reason))).toMatch(/cannot suppress: no rule is named "HIPAA-S3-VERSIONNING" \(rules of that family: HIPAA-S3-VERSIONING/);
    expect(refusal(() => HipaaCompliance.suppress(bucket, "HIPAA-S4-*", reason))).toContain('no rule is named "HIPAA-S4-*"');
    expect(refusal(() => HipaaCompliance.suppress(bucket, "s3 stuff", reason))).toContain("is neither a rule id");
    expect(refusal(() => HipaaCompliance.suppress(bucket, [], reason))).toContain("names no rule");
    try {
      HipaaCompliance.suppress(bucket, "HIPAA-S3-VERSIONNING", reason);
    } catch (e) {
      expect((e as Error).name).toBe("HipaaConfigError");
    }
  });
});

describe("HCL output", () => {
  test("suppressions travel beside an HCL stack (hipaa-gate.json) and the CLI applies them", async () => {
    const outdir = outdirOf();
    const previous = process.env.SYNTH_HCL_OUTPUT;
    process.env.SYNTH_HCL_OUTPUT = "true";
    try {
      const app = new App({ outdir });
      const stack = awsStack(app, "user");
      const key = new KmsKey(stack, "Legacy", { description: "the user's own key" });
      HipaaCompliance.suppress(key, "HIPAA-KMS-*", REASON);
      HipaaCompliance.enable(app);
      app.synth();
    } finally {
      if (previous === undefined) delete process.env.SYNTH_HCL_OUTPUT;
      else process.env.SYNTH_HCL_OUTPUT = previous;
    }
    expect(readFileSync(join(outdir, "stacks", "user", "cdk.tf"), "utf8")).toContain('resource "aws_kms_key" "Legacy"');
    const cli = await cliJson(outdir);
    expect(cli.code).toBe(0);
    expect(cli.findings.find((f: any) => f.rule === "HIPAA-KMS-ROTATION")).toEqual(expect.objectContaining({ verdict: "suppressed", suppressionReason: REASON }));
  });
});
