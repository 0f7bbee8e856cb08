import { Token } from "cdktf";
import { HipaaConfigError } from "../../src/errors";
import { Cfr } from "../../src/compliance";
import { PolicyStatement } from "./iam-policy";

/**
 * Who may destroy, disable or re-policy a key, a log trail or a retention setting: one named
 * break-glass role, and nobody else, the account's own administrators included. Passed to the
 * constructs that hold evidence (EvidenceBucket, AccessLogBucket, TrailBucket) and signing keys.
 */
export interface KeyCustody {
  /**
   * The exact ARN of the break-glass IAM role (`arn:aws:iam::ACCOUNT:role/[PATH/]NAME`); the
   * path is part of the ARN that `aws:PrincipalArn` carries, so it must be given.
   */
  readonly breakGlassRoleArn: string;
}

/** What only break-glass may do to a key: each of these ends or hides what the key protects. */
export const KEY_CUSTODY_ACTIONS: readonly string[] = ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy", "kms:DeleteImportedKeyMaterial"];

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

/** Refuses anything but one exact IAM role ARN (no wildcard, no user, no account root). */
export function validateBreakGlassRoleArn(path: string, custody: KeyCustody): string {
  const arn = custody.breakGlassRoleArn;
  if (Token.isUnresolved(arn)) return arn;
  if (typeof arn !== "string" || !ROLE_ARN.test(arn)) {
    throw new HipaaConfigError({
      path,
      problem: `breakGlassRoleArn ${JSON.stringify(arn)} is not one exact IAM role ARN (a wildcard, a user, an account root or a malformed ARN would leave custody with more than one named role)`,
      cfr: Cfr.AUDIT_CONTROLS,
      fix: "pass the break-glass role's full ARN, path included, e.g. arn:aws:iam::999999999999:role/break-glass/evidence-custodian",
    });
  }
  return arn;
}

/**
 * Key-policy statements that deny destroying, disabling or re-policying the key, and granting
 * its use outside AWS-service grants, to every principal but the break-glass role. A Deny wins
 * over any Allow, so the account-root administration statement and any IAM policy in the
 * account no longer reach these actions.
 */
export function keyCustodyStatements(breakGlassRoleArn: string): PolicyStatement[] {
  const notBreakGlass = { ArnNotEquals: { "aws:PrincipalArn": breakGlassRoleArn } };
  return [
    {
      sid: "OnlyBreakGlassDestroysDisablesOrRepoliciesKey",
      effect: "Deny",
      principals: "*",
      actions: KEY_CUSTODY_ACTIONS,
      resources: ["*"],
      conditions: notBreakGlass,
    },
    {
      // A grant hands key use to a principal the key policy never names; AWS services (S3,
      // CloudTrail, EBS) create their own grants with kms:GrantIsForAWSResource true.
      sid: "OnlyBreakGlassGrantsKeyUseOutsideAwsServices",
      effect: "Deny",
      principals: "*",
      actions: ["kms:CreateGrant", "kms:RevokeGrant"],
      resources: ["*"],
      conditions: { ...notBreakGlass, Bool: { "kms:GrantIsForAWSResource": "false" } },
    },
  ];
}

/**
 * Why a key with custody statements sets `bypass_policy_lockout_safety_check`: KMS refuses a
 * policy that would stop the calling principal from calling PutKeyPolicy later unless the
 * request sets the bypass. Terraform runs as the archive account's deploy role, which the
 * policy deliberately shuts out; the account root and break-glass keep PutKeyPolicy through
 * the administration statement, so the key never becomes unmanageable. Later changes to the
 * policy are applied as the break-glass role.
 */
export const CUSTODY_LOCKOUT_REASON =
  "The key policy denies kms:PutKeyPolicy to everyone but the break-glass role, so KMS's lockout safety check is bypassed deliberately when Terraform (not break-glass) creates the key; break-glass keeps PutKeyPolicy, and any later change of the policy is applied as break-glass.";

/** Deny, to all but break-glass, bucket actions that end or rewrite an audit record's protection. */
export function bucketCustodyStatement(sid: string, bucketArn: string, actions: readonly string[], breakGlassRoleArn: string): PolicyStatement {
  return {
    sid,
    effect: "Deny",
    principals: "*",
    actions,
    resources: [bucketArn],
    conditions: { ArnNotEquals: { "aws:PrincipalArn": breakGlassRoleArn } },
  };
}
