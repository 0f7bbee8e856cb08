import { Construct } from "constructs";
import { Token } from "cdktf";
import { DataAwsIamRole } from "@cdktf/provider-aws/lib/data-aws-iam-role";
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
  /**
   * The break-glass role's unique id (`AROA...`, `data.aws_iam_role.unique_id`). With it every
   * exemption also requires `aws:userid` to match `ID:*`: an ARN alone is matched again by a role
   * deleted and re-created under the same name, a unique id never is.
   * @default - exemption by ARN only (`lookUpBreakGlassRole` fills it in from the role itself)
   */
  readonly breakGlassRoleUniqueId?: string;
}

/**
 * What only break-glass may do to a key: each of these ends or hides what the key protects.
 * `UpdateAlias`/`DeleteAlias` need permission on the key an alias points to (and UpdateAlias on
 * the new key too), so denying them here stops anyone else re-pointing or removing the key's
 * alias (a trail, cosign or writer that names the alias would follow it to another key).
 * `CreateAlias` stays with the administrators: Terraform creates the alias after the key, as the
 * deploying role, and a new alias pointing at this key moves nothing.
 */
export const KEY_CUSTODY_ACTIONS: readonly string[] = ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy", "kms:DeleteImportedKeyMaterial", "kms:UpdateAlias", "kms:DeleteAlias"];

const ROLE_UNIQUE_ID = /^AROA[A-Z0-9]{12,124}$/;

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
  const id = custody.breakGlassRoleUniqueId;
  if (id !== undefined && !Token.isUnresolved(id) && !ROLE_UNIQUE_ID.test(id)) {
    throw new HipaaConfigError({
      path,
      problem: `breakGlassRoleUniqueId ${JSON.stringify(id)} is not an IAM role's unique id (AROA followed by letters and digits)`,
      cfr: Cfr.AUDIT_CONTROLS,
      fix: "leave it unset and let the stack look the role up (data aws_iam_role.unique_id), or pass `aws iam get-role --role-name NAME --query Role.RoleId`",
    });
  }
  return arn;
}

/**
 * Looks the break-glass role up in the stack's own account (a data source: a missing role fails
 * the plan, and the role's ARN, path included, must be the one given) and returns custody pinned
 * to its unique id as well. Only a role of the stack's account can be looked up: an environment
 * stack looks up its own account's break-glass role of the same path and name.
 */
export function lookUpBreakGlassRole(scope: Construct, id: string, custody: KeyCustody): KeyCustody {
  const arn = validateBreakGlassRoleArn(`${scope.node.path}/${id}`, custody);
  if (custody.breakGlassRoleUniqueId !== undefined || Token.isUnresolved(arn)) return custody;
  const role = new DataAwsIamRole(scope, id, {
    name: arn.split("/").pop()!,
    lifecycle: {
      postcondition: [
        {
          condition: `\${self.arn == "${arn}"}`,
          errorMessage: `The break-glass role found by name is not ${arn} (another path?): custody names that exact ARN.`,
        },
      ],
    },
  });
  return { breakGlassRoleArn: arn, breakGlassRoleUniqueId: role.uniqueId };
}

/**
 * The conditions under which a custody Deny applies: any principal that is not break-glass by
 * ARN, and (when its unique id is known) any principal whose `aws:userid` is not a session of
 * that exact role (`AROAID:session` for an assumed role). A Deny's conditions are ANDed, so the
 * two tests are two statements: failing either one denies.
 */
function notBreakGlass(custody: KeyCustody): { readonly sidSuffix: string; readonly conditions: Record<string, Record<string, string>> }[] {
  const byArn = { sidSuffix: "", conditions: { ArnNotEquals: { "aws:PrincipalArn": custody.breakGlassRoleArn } } };
  if (custody.breakGlassRoleUniqueId === undefined) return [byArn];
  return [byArn, { sidSuffix: "ByRoleId", conditions: { StringNotLike: { "aws:userid": `${custody.breakGlassRoleUniqueId}:*` } } }];
}

/**
 * Key-policy statements that deny destroying, disabling or re-policying the key, and granting
 * its use outside AWS-service grants, to every principal but the break-glass role. A Deny wins
 * over any Allow, so the account-root administration statement and any IAM policy in the
 * account no longer reach these actions.
 */
export function keyCustodyStatements(custody: KeyCustody): PolicyStatement[] {
  const exemptions = notBreakGlass(custody);
  return [
    ...exemptions.map(
      (e): PolicyStatement => ({
        sid: `OnlyBreakGlassDestroysDisablesOrRepoliciesKey${e.sidSuffix}`,
        effect: "Deny",
        principals: "*",
        actions: KEY_CUSTODY_ACTIONS,
        resources: ["*"],
        conditions: e.conditions,
      }),
    ),
    // A grant hands key use to a principal the key policy never names; AWS services (S3,
    // CloudTrail, EBS) create their own grants with kms:GrantIsForAWSResource true.
    ...exemptions.map(
      (e): PolicyStatement => ({
        sid: `OnlyBreakGlassGrantsKeyUseOutsideAwsServices${e.sidSuffix}`,
        effect: "Deny",
        principals: "*",
        actions: ["kms:CreateGrant", "kms:RevokeGrant"],
        resources: ["*"],
        conditions: { ...e.conditions, Bool: { "kms:GrantIsForAWSResource": "false" } },
      }),
    ),
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
export function bucketCustodyStatements(sid: string, bucketArn: string, actions: readonly string[], custody: KeyCustody): PolicyStatement[] {
  return notBreakGlass(custody).map((e) => ({
    sid: `${sid}${e.sidSuffix}`,
    effect: "Deny",
    principals: "*",
    actions,
    resources: [bucketArn],
    conditions: e.conditions,
  }));
}
