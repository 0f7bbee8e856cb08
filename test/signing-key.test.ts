import { TerraformOutput } from "cdktf";
import { AwsPrincipal, SigningKey, SigningKeySpec } from "../constructs/aws";
import { collectControlRecords } from "../src/compliance";
import { actionsOf, awsStack, production, refAt, refusal, resourceAt, statement, statements, synth } from "./support/synth";

const SIGNER = "arn:aws:iam::111122223333:role/ci-build";
const VERIFIER = "arn:aws:iam::111122223333:role/admission-controller";
const ADMIN = "arn:aws:iam::111122223333:role/key-admin";

function signingKey(props: Partial<ConstructorParameters<typeof SigningKey>[2]> = {}) {
  const { stack } = awsStack();
  const key = new SigningKey(stack, "Signing", { environment: production, ...props });
  return { stack, key };
}

describe("SigningKey (AWS)", () => {
  const { stack, key } = signingKey();
  key.grantSign(AwsPrincipal.fromArn(SIGNER, "CiBuild"));
  key.grantVerify(AwsPrincipal.fromArn(VERIFIER, "Admission"));
  new TerraformOutput(stack, "cosign_key_uri", { value: key.cosignKeyUri });
  new TerraformOutput(stack, "cosign_verify_key_uri", { value: key.cosignVerifyKeyUri });
  const out = synth(stack);
  const kms = resourceAt(out, "aws_kms_key", "Signing/Key");

  test("matches the expected Terraform JSON", () => {
    expect(out.tf).toMatchSnapshot();
  });

  test("is an asymmetric ECC_NIST_P256 SIGN_VERIFY key with a 30-day deletion window and prevent_destroy", () => {
    expect(kms).toMatchObject({
      key_usage: "SIGN_VERIFY",
      customer_master_key_spec: "ECC_NIST_P256",
      deletion_window_in_days: 30,
      lifecycle: { prevent_destroy: true },
    });
    expect(kms.enable_key_rotation).toBeUndefined();
  });

  test("has an alias and exposes cosign URIs", () => {
    const alias = resourceAt(out, "aws_kms_alias", "Signing/Alias");
    expect(alias.name).toBe("alias/hipaa-cosign-production");
    expect(alias.target_key_id).toBe(refAt(out, "aws_kms_key", "Signing/Key", "key_id"));
    const outputs = (out.tf as any).output;
    expect(outputs.cosign_key_uri.value).toBe(`awskms:///${refAt(out, "aws_kms_alias", "Signing/Alias", "arn")}`);
    expect(outputs.cosign_verify_key_uri.value).toBe(`awskms:///${refAt(out, "aws_kms_key", "Signing/Key", "arn")}`);
  });

  test("administrators cannot sign, verify or create grants", () => {
    const admin = statement(kms.policy, "KeyAdministrationWithoutUse");
    expect(admin.Principal.AWS).toMatch(/^arn:\$\{data\.aws_partition\.[^}]+\.partition\}:iam::\$\{data\.aws_caller_identity\.[^}]+\.account_id\}:root$/);
    expect(actionsOf(admin).filter((a) => /Sign|Verify|CreateGrant|Encrypt|Decrypt|GenerateDataKey/.test(a))).toEqual([]);
    expect(actionsOf(admin)).toEqual(expect.arrayContaining(["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DescribeKey"]));
  });

  test("signers may sign; verifiers may only verify", () => {
    expect(statement(kms.policy, "SignCiBuild")).toEqual({
      Sid: "SignCiBuild",
      Effect: "Allow",
      Principal: { AWS: SIGNER },
      Action: ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"],
      Resource: "*",
    });
    expect(actionsOf(statement(kms.policy, "VerifyAdmission"))).toEqual(["kms:Verify", "kms:GetPublicKey", "kms:DescribeKey"]);
    const signers = statements(kms.policy).filter((s) => actionsOf(s).includes("kms:Sign"));
    expect(signers.map((s) => s.Principal.AWS)).toEqual([SIGNER]);
  });

  test("no statement allows a wildcard principal or action", () => {
    for (const s of statements(kms.policy)) {
      expect(s.Principal).not.toBe("*");
      expect(actionsOf(s).some((a) => a.includes("*"))).toBe(false);
    }
  });

  test("records integrity and access-management controls", () => {
    const sections = collectControlRecords(stack).implementations.filter((i) => i.constructPath === "test/Signing").map((i) => i.section);
    expect(sections.sort()).toEqual(["164.308(a)(4)", "164.312(c)(1)"]);
  });
});

describe("SigningKey options and refusals", () => {
  test("RSA key specs are allowed", () => {
    const { stack } = signingKey({ keySpec: SigningKeySpec.RSA_3072 });
    expect(resourceAt(synth(stack), "aws_kms_key", "Signing/Key").customer_master_key_spec).toBe("RSA_3072");
  });

  test("named administrators replace the account root", () => {
    const { stack } = signingKey({ administratorArns: [ADMIN] });
    const policy = resourceAt(synth(stack), "aws_kms_key", "Signing/Key").policy;
    expect(statement(policy, "KeyAdministrationWithoutUse").Principal).toEqual({ AWS: ADMIN });
  });

  test("automatic rotation is refused with instructions for rotating a signing key", () => {
    const message = refusal(() => signingKey({ enableKeyRotation: true }));
    expect(message).toContain("test/Signing: automatic rotation was requested, but AWS KMS rotates only symmetric encryption keys");
    expect(message).toContain("(45 CFR 164.312(c)(1))");
    expect(message).toContain("create a new SigningKey, move the cosign alias to it");
  });

  test("an administrator cannot also be a signer", () => {
    const { key } = signingKey({ administratorArns: [ADMIN] });
    const message = refusal(() => key.grantSign(AwsPrincipal.fromArn(ADMIN, "KeyAdmin")));
    expect(message).toContain("KeyAdmin administers this key and cannot also sign with it (45 CFR 164.308(a)(4))");
  });

  test("an empty administrator list is refused", () => {
    expect(refusal(() => signingKey({ administratorArns: [] }))).toContain("administratorArns is empty");
  });

  test("an invalid alias is refused", () => {
    expect(refusal(() => signingKey({ aliasName: "cosign" }))).toContain('aliasName "cosign" is not a valid customer alias');
    expect(refusal(() => signingKey({ aliasName: "alias/aws/cosign" }))).toContain("not a valid customer alias");
  });

  test("a key spec cosign cannot use is refused", () => {
    expect(refusal(() => signingKey({ keySpec: "SYMMETRIC_DEFAULT" as SigningKeySpec }))).toContain("is not a signing key spec cosign supports");
  });
});
