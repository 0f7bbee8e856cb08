import { mkdtempSync, readFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App, TerraformStack, Testing } from "cdktf";
import { buildReferenceApp } from "../examples/reference/main";
import { buildGcpGitlabApp, RELEASE_APPROVERS } from "../examples/gcp-gitlab/main";
import { BaaRegistry, DeployGate, Environment, EnvironmentTier, HipaaConfigError, ScanThresholds, SigningKey } from "../src";
import { awsStack, dev, production } from "./support/synth";

function synthTo(build: (app: App) => void): string {
  const outdir = mkdtempSync(join(tmpdir(), "deploy-gate-"));
  const app = new App({ outdir });
  build(app);
  app.synth();
  return outdir;
}

const readJson = (file: string) => JSON.parse(readFileSync(file, "utf8"));

function refusal(fn: () => unknown): HipaaConfigError {
  try {
    fn();
  } catch (e) {
    if (HipaaConfigError.isHipaaConfigError(e)) return e;
    throw e;
  }
  throw new Error("expected a HipaaConfigError");
}

describe("DeployGate: the OPA bundle next to each environment stack", () => {
  let reference: string;
  let gcp: string;
  beforeAll(() => {
    reference = synthTo((app) => buildReferenceApp(app));
    gcp = synthTo((app) => buildGcpGitlabApp(app));
  });

  test("the reference production bundle's data is derived from the substrate's config", () => {
    const dir = join(reference, "stacks", "clinical-production", "policy");
    const data = readJson(join(dir, "data.json"));
    const tf = readJson(join(reference, "stacks", "clinical-production", "cdk.tf.json"));
    const keyName = Object.keys(tf.resource.aws_kms_key).find((k) => k.startsWith("SigningKey"));
    expect(data).toEqual({
      hipaa_substrate: {
        generated_by: "cdktf-hipaa-substrate",
        stack: "clinical-production",
        environment: { name: "production", tier: "production", handles_phi: true },
        signer: {
          cloud: "aws",
          key: "alias/hipaa-cosign-production",
          cosign_uris: ["awskms:///arn:aws:kms:us-east-1:444444444444:alias/hipaa-cosign-production"],
          terraform_address: `aws_kms_key.${keyName}`,
        },
        approvers: { teams: ["5502"] },
        scan_thresholds: { container: { critical: 0, high: 0 }, sast: { critical: 0 }, iac: { critical: 0 }, secrets: { findings: 0 } },
        baa_services: ["aws:cloudtrail", "aws:ec2", "aws:ecr", "aws:eks", "aws:events", "aws:kms", "aws:logs", "aws:s3", "aws:sns"],
      },
    });
    // The alias the data names is the alias the stack creates.
    expect(Object.values(tf.resource.aws_kms_alias).map((a: any) => a.name)).toContain("alias/hipaa-cosign-production");
    // The policy is the shipped file, byte for byte.
    expect(readFileSync(join(dir, "deploy", "hipaa.rego"), "utf8")).toBe(readFileSync(join(__dirname, "..", "policy", "deploy", "hipaa.rego"), "utf8"));
  });

  test("every environment stack gets its own bundle, with its own key and environment", () => {
    for (const env of ["dev", "staging", "validation", "production"]) {
      const data = readJson(join(reference, "stacks", `clinical-${env}`, "policy", "data.json")).hipaa_substrate;
      expect(data.environment.name).toBe(env);
      expect(data.signer.cosign_uris).toEqual([expect.stringMatching(new RegExp(`^awskms:///arn:aws:kms:us-east-1:\\d{12}:alias/hipaa-cosign-${env}$`))]);
      expect(data.environment.handles_phi).toBe(env === "production");
    }
  });

  test("the GCP example's bundle names the Cloud KMS key version and the GitLab approver group", () => {
    const data = readJson(join(gcp, "stacks", "hipaa-gcp-production", "policy", "data.json")).hipaa_substrate;
    expect(data.signer).toEqual({
      cloud: "gcp",
      key: "projects/hipaa-health-prod/locations/us-central1/keyRings/hipaa-cosign-production/cryptoKeys/cosign",
      cosign_uris: ["gcpkms://projects/hipaa-health-prod/locations/us-central1/keyRings/hipaa-cosign-production/cryptoKeys/cosign/versions/1"],
      terraform_address: expect.stringMatching(/^google_kms_crypto_key\./),
    });
    expect(data.approvers.teams).toEqual([RELEASE_APPROVERS.path]);
    expect(data.baa_services).toEqual(["gcp:artifactregistry", "gcp:cloudkms", "gcp:compute", "gcp:container", "gcp:logging", "gcp:storage"]);
  });

  test("the stack carries locals.hipaa_substrate for the checker (no resource)", () => {
    const tf = readJson(join(reference, "stacks", "clinical-production", "cdk.tf.json"));
    expect(tf.locals.hipaa_substrate).toEqual({
      environment: "production",
      tier: "production",
      handles_phi: true,
      baa_services: ["aws:cloudtrail", "aws:ec2", "aws:ecr", "aws:eks", "aws:events", "aws:kms", "aws:logs", "aws:s3", "aws:sns"],
    });
  });
});

describe("DeployGate refusals", () => {
  const signerStack = () => {
    const { stack } = awsStack("gate");
    const key = new SigningKey(stack, "SigningKey", { environment: production });
    return { stack, key };
  };

  test("a signer given as a Terraform token is refused: the gate compares literal strings", () => {
    const { stack, key } = signerStack();
    const e = refusal(() => new DeployGate(stack, "Gate", { environment: production, approverTeams: ["5502"], signer: { cloud: "aws", key: "k", cosignUris: [key.cosignKeyUri], terraformAddress: "aws_kms_key.k" } }));
    expect(e.message).toContain("not literal awskms:/// key references");
  });

  test("no approver team, or a wildcard team, is refused", () => {
    const { stack, key } = signerStack();
    const signer = DeployGate.awsSigner(key, "444444444444", "us-east-1");
    expect(refusal(() => new DeployGate(stack, "Gate", { environment: production, approverTeams: [], signer })).cfr).toBe("164.308(a)(4)");
    expect(refusal(() => new DeployGate(stack, "Gate2", { environment: production, approverTeams: ["hipaa-health/*"], signer })).message).toContain("wildcard");
  });

  test("GovCloud and China regions get their partition in the alias ARN", () => {
    const { key } = signerStack();
    expect(DeployGate.awsSigner(key, "444444444444", "us-gov-west-1").cosignUris[0]).toBe("awskms:///arn:aws-us-gov:kms:us-gov-west-1:444444444444:alias/hipaa-cosign-production");
  });

  test("the gate is written only by a synth; Testing.synth of the stack still shows the local", () => {
    const { stack, key } = signerStack();
    new DeployGate(stack, "Gate", { environment: production, approverTeams: ["5502"], signer: DeployGate.awsSigner(key, "444444444444", "us-east-1") });
    expect(JSON.parse(Testing.synth(stack as TerraformStack)).locals.hipaa_substrate.handles_phi).toBe(true);
  });
});

describe("ScanThresholds", () => {
  test("the default is zero critical findings and zero secrets", () => {
    expect(new ScanThresholds(production).toDocument()).toEqual({ container: { critical: 0 }, sast: { critical: 0 }, iac: { critical: 0 }, secrets: { findings: 0 } });
  });

  test("stricter caps on high findings are accepted, in PHI environments too", () => {
    expect(new ScanThresholds(production, { containerHigh: 0, sastHigh: 3 }).toDocument()).toEqual({
      container: { critical: 0, high: 0 },
      sast: { critical: 0, high: 3 },
      iac: { critical: 0 },
      secrets: { findings: 0 },
    });
  });

  test("looser than zero is refused for a PHI environment, even with a reason", () => {
    const e = refusal(() => new ScanThresholds(production, { containerCritical: 2, relaxationReason: "the base image has an unfixed CVE with no exploit path" }));
    expect(e.cfr).toBe("164.308(a)(1)(ii)(B)");
    expect(e.message).toContain('PHI environment "production"');
    const validation = new Environment({ name: "validation", tier: EnvironmentTier.VALIDATION, handlesPhi: true });
    expect(() => new ScanThresholds(validation, { secretsFindings: 1, relaxationReason: "a test fixture key that is revoked everywhere" })).toThrow(/PHI environment/);
  });

  test("looser elsewhere needs a recorded reason", () => {
    expect(refusal(() => new ScanThresholds(dev, { iacCritical: 1 })).message).toContain("without a reason");
    const t = new ScanThresholds(dev, { iacCritical: 1, relaxationReason: "dev sandboxes accept the CKV_AWS_144 finding on replication" });
    expect(t.toDocument().iac).toEqual({ critical: 1 });
    expect(t.relaxationReason).toContain("CKV_AWS_144");
  });

  test("negative or fractional thresholds are refused", () => {
    expect(() => new ScanThresholds(dev, { sastHigh: -1 })).toThrow(/whole number/);
    expect(() => new ScanThresholds(dev, { containerHigh: 1.5 })).toThrow(/whole number/);
  });
});

describe("BaaRegistry", () => {
  test("defaults are the substrate's services, each with its provider's HIPAA list as source", () => {
    const registry = BaaRegistry.substrateDefaults();
    expect(registry.ids).toEqual(["aws:cloudtrail", "aws:ec2", "aws:ecr", "aws:eks", "aws:events", "aws:kms", "aws:logs", "aws:s3", "aws:sns", "gcp:artifactregistry", "gcp:cloudkms", "gcp:compute", "gcp:container", "gcp:logging", "gcp:storage"]);
    for (const s of registry.services) expect(s.source).toMatch(/hipaa/i);
  });

  test("adding a covered service; malformed, unsourced and duplicate entries are refused", () => {
    const source = "our BAA, schedule A (signed 2026-01-10)";
    expect(BaaRegistry.substrateDefaults().with({ id: "aws:rds", name: "Amazon RDS", source }).covers("aws:rds")).toBe(true);
    expect(() => new BaaRegistry([{ id: "S3", name: "S3", source }])).toThrow(/<cloud>:<service>/);
    expect(() => new BaaRegistry([{ id: "aws:rds", name: "Amazon RDS", source: "" }])).toThrow(/no source/);
    expect(() => BaaRegistry.substrateDefaults().with({ id: "aws:s3", name: "S3", source })).toThrow(/twice/);
  });
});

describe("the evidence bundle schema and the policy agree", () => {
  const root = join(__dirname, "..", "policy");
  const schema = readJson(join(root, "evidence-bundle.schema.json"));
  const rego = readFileSync(join(root, "deploy", "hipaa.rego"), "utf8");

  test("every input field the policy reads is in the schema", () => {
    const read = new Set([...rego.matchAll(/input\.([a-z_]+)/g)].map((m) => m[1]));
    for (const m of rego.matchAll(/object\.get\(input, (?:\["([a-z_]+)"|"([a-z_]+)")/g)) read.add(m[1] ?? m[2]);
    expect([...read].sort()).toEqual(["approver", "artifact", "deploy_author", "scans", "services", "target_environment"]);
    for (const field of read) expect(schema.properties).toHaveProperty(field);
    expect(schema.properties.scans.required).toEqual(["container", "sast", "iac", "secrets"]);
    expect(schema.properties.artifact.required).toEqual(["cosign_verified", "signed_by"]);
    expect(schema.properties.approver.required).toEqual(["login", "team"]);
  });

  test("the fields the gate refuses without are required, services included (an omitted list would cover anything)", () => {
    expect(schema.required).toEqual(["scans", "artifact", "approver", "deploy_author", "target_environment", "services"]);
  });
});

test("the README's evidence bundle schema is the shipped file", () => {
  const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");
  const block = /### The evidence bundle[\s\S]*?```json\n([\s\S]*?)\n```/.exec(readme)![1];
  expect(JSON.parse(block)).toEqual(readJson(join(__dirname, "..", "policy", "evidence-bundle.schema.json")));
});
