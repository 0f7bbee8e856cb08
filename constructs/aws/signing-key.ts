import { Construct } from "constructs";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { Token } from "cdktf";
import { HipaaConfigError } from "../../src/errors";
import { assertSameEnvironment, Environment } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";
import { AwsAccountContext } from "./account-context";
import { PolicyDocument, PolicyStatement, sidFrom } from "./iam-policy";
import { KeyCustody, keyCustodyStatements, validateBreakGlassRoleArn } from "./key-custody";
import { kmsAdministrationStatement, KMS_DELETION_WINDOW_DAYS } from "./kms-policy";
import { IAwsPrincipal } from "./principal";

/** Asymmetric key specs cosign can sign with through `awskms://`. */
export enum SigningKeySpec {
  ECC_NIST_P256 = "ECC_NIST_P256",
  ECC_NIST_P384 = "ECC_NIST_P384",
  RSA_2048 = "RSA_2048",
  RSA_3072 = "RSA_3072",
  RSA_4096 = "RSA_4096",
}

export interface SigningKeyProps {
  /** The environment whose artifacts this key signs. */
  readonly environment: Environment;
  /**
   * Key spec.
   * @default SigningKeySpec.ECC_NIST_P256 (cosign's default ECDSA P-256)
   */
  readonly keySpec?: SigningKeySpec;
  /**
   * The alias cosign signs through; rotating the key means moving this alias (under `custody`, a
   * break-glass operation: the key policy denies kms:UpdateAlias/DeleteAlias to anyone else).
   * @default `alias/hipaa-cosign-ENV`
   */
  readonly aliasName?: string;
  /**
   * Who administers the key (describe, re-policy, disable, schedule deletion). Administrators
   * never hold kms:Sign.
   * @default - the account root, so IAM policies in the account can delegate administration only
   */
  readonly administratorArns?: readonly string[];
  /**
   * Not supported: AWS KMS rotates only symmetric encryption keys. Setting it to true is refused
   * with instructions for rotating a signing key.
   * @default false
   */
  readonly enableKeyRotation?: boolean;
  /** Extra tags. @default - none */
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * Custody by a named break-glass role (which may live in another account, e.g. the evidence
   * archive's): the role joins the administrators, and the key policy denies deletion,
   * disabling, re-policying and non-service grants to everyone else, the account's
   * administrators included, so nobody in the environment account can destroy the key whose
   * signatures the evidence refers to or hand its use to someone new.
   * @default - none: the administrators hold the key
   */
  readonly custody?: KeyCustody;
}

const ALIAS = /^alias\/[A-Za-z0-9\/_-]{1,250}$/;

/**
 * An AWS KMS asymmetric SIGN_VERIFY key for cosign, with administrators separated from signers
 * and verifiers, a 30-day deletion window and `prevent_destroy`.
 */
export class SigningKey extends Construct {
  public readonly environment: Environment;
  public readonly key: KmsKey;
  public readonly alias: KmsAlias;
  public readonly keyArn: string;
  public readonly aliasName: string;
  public readonly aliasArn: string;
  public readonly keySpec: SigningKeySpec;
  /** What `cosign sign --key` takes: the alias, so signing follows a rotation. */
  public readonly cosignKeyUri: string;
  /** What `cosign verify --key` takes for signatures made by this exact key version. */
  public readonly cosignVerifyKeyUri: string;

  private readonly policy: PolicyDocument;
  private administratorArns: readonly string[];

  constructor(scope: Construct, id: string, props: SigningKeyProps) {
    super(scope, id);
    const path = this.node.path;
    if (props.enableKeyRotation) {
      throw new HipaaConfigError({
        path,
        problem: "automatic rotation was requested, but AWS KMS rotates only symmetric encryption keys (asking for it on a SIGN_VERIFY key fails at apply)",
        cfr: Cfr.INTEGRITY,
        fix: "leave enableKeyRotation unset; to rotate, create a new SigningKey, move the cosign alias to it, and keep the old key's public key in your verification trust until every signature it made has aged out",
      });
    }
    this.keySpec = props.keySpec ?? SigningKeySpec.ECC_NIST_P256;
    if (!Object.values(SigningKeySpec).includes(this.keySpec)) {
      throw new HipaaConfigError({
        path,
        problem: `keySpec ${JSON.stringify(this.keySpec)} is not a signing key spec cosign supports`,
        fix: `use one of ${Object.values(SigningKeySpec).join(", ")}`,
      });
    }
    this.aliasName = props.aliasName ?? `alias/hipaa-cosign-${props.environment.name}`;
    if (!Token.isUnresolved(this.aliasName) && (!ALIAS.test(this.aliasName) || this.aliasName.startsWith("alias/aws/"))) {
      throw new HipaaConfigError({
        path,
        problem: `aliasName ${JSON.stringify(this.aliasName)} is not a valid customer alias`,
        fix: "use alias/ followed by letters, digits, '/', '_' or '-' (not alias/aws/...)",
      });
    }
    const account = AwsAccountContext.of(this);
    this.administratorArns = props.administratorArns ?? [account.accountRootArn];
    if (this.administratorArns.length === 0) {
      throw new HipaaConfigError({
        path,
        problem: "administratorArns is empty, which would leave the key unmanageable",
        fix: "leave administratorArns unset (the account root) or name at least one administrator role",
      });
    }
    this.environment = props.environment;
    if (props.custody) {
      const breakGlass = validateBreakGlassRoleArn(path, props.custody);
      if (!this.administratorArns.includes(breakGlass)) this.administratorArns = [...this.administratorArns, breakGlass];
    }
    this.policy = new PolicyDocument(`${path}/Key`, [
      kmsAdministrationStatement(this.administratorArns),
      ...(props.custody ? keyCustodyStatements(props.custody) : []),
    ]);

    this.key = new KmsKey(this, "Key", {
      description: `cosign signing key for ${props.environment.name} (45 CFR 164.312(c)(1))`,
      keyUsage: "SIGN_VERIFY",
      customerMasterKeySpec: this.keySpec,
      deletionWindowInDays: KMS_DELETION_WINDOW_DAYS,
      policy: this.policy.toJson(),
      // See CUSTODY_LOCKOUT_REASON (key-custody.ts): the deploying role is shut out of
      // PutKeyPolicy on purpose, so the lockout safety check is bypassed deliberately.
      bypassPolicyLockoutSafetyCheck: props.custody ? true : undefined,
      tags: { Purpose: "HIPAA artifact signing", Environment: props.environment.name, ...props.tags },
      lifecycle: { preventDestroy: true },
    });
    this.alias = new KmsAlias(this, "Alias", { name: this.aliasName, targetKeyId: this.key.keyId });
    this.keyArn = this.key.arn;
    this.aliasArn = this.alias.arn;
    this.cosignKeyUri = `awskms:///${this.alias.arn}`;
    this.cosignVerifyKeyUri = `awskms:///${this.key.arn}`;

    recordControl(this, {
      section: Cfr.INTEGRITY,
      resources: [this.key, this.alias],
      how: `Artifacts are signed with a KMS ${this.keySpec} SIGN_VERIFY key held in AWS KMS HSMs; only named signers may use it.`,
    });
    recordControl(this, {
      section: Cfr.ACCESS_MANAGEMENT,
      resources: [this.key],
      how: props.custody
        ? `The key policy separates administrators (no kms:Sign, no kms:CreateGrant) from signers and verifiers, and denies deletion, disabling, re-policying and non-service grants to everyone but the break-glass role ${props.custody.breakGlassRoleArn} (lockout safety check bypassed deliberately: the deploying role is shut out of PutKeyPolicy).`
        : "The key policy separates administrators (no kms:Sign, no kms:CreateGrant) from signers and verifiers.",
    });
  }

  /** Lets `principal` sign with the key (kms:Sign, kms:GetPublicKey, kms:DescribeKey). */
  public grantSign(principal: IAwsPrincipal): void {
    if (this.administratorArns.includes(principal.principalArn)) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: `${principal.grantName} administers this key and cannot also sign with it`,
        cfr: Cfr.ACCESS_MANAGEMENT,
        fix: "sign with a CI role that is not a key administrator",
      });
    }
    this.grant(principal, "Sign", ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"]);
  }

  /** Lets `principal` verify signatures (kms:Verify, kms:GetPublicKey, kms:DescribeKey). */
  public grantVerify(principal: IAwsPrincipal): void {
    this.grant(principal, "Verify", ["kms:Verify", "kms:GetPublicKey", "kms:DescribeKey"]);
  }

  private grant(principal: IAwsPrincipal, intent: string, actions: string[]): void {
    assertSameEnvironment(this.node.path, this.environment, principal);
    const statement: PolicyStatement = { sid: sidFrom(intent, principal.grantName), effect: "Allow", actions };
    this.policy.addStatement({ ...statement, principals: { AWS: [principal.principalArn] }, resources: ["*"] });
    principal.addToPrincipalPolicy?.({ ...statement, sid: sidFrom(intent, this.node.path), resources: [this.keyArn] });
  }
}
