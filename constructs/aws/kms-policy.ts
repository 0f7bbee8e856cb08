import { PolicyStatement } from "./iam-policy";

/**
 * Key administration without key use. Administrators can describe, tag, enable, disable,
 * re-policy and schedule deletion of a key, but cannot encrypt, decrypt or sign with it, and
 * cannot CreateGrant (a grant would hand them use of the key outside the key policy).
 * Keeping the account root here (rather than `kms:*`) keeps the key manageable (KMS's lockout
 * safety check) while IAM policies in the account can delegate only administration.
 */
export const KMS_ADMINISTRATION_ACTIONS: readonly string[] = [
  "kms:CancelKeyDeletion",
  "kms:CreateAlias",
  "kms:DeleteAlias",
  "kms:DescribeKey",
  "kms:DisableKey",
  "kms:DisableKeyRotation",
  "kms:EnableKey",
  "kms:EnableKeyRotation",
  "kms:GetKeyPolicy",
  "kms:GetKeyRotationStatus",
  "kms:GetPublicKey",
  "kms:ListGrants",
  "kms:ListKeyPolicies",
  "kms:ListKeyRotations",
  "kms:ListResourceTags",
  "kms:PutKeyPolicy",
  "kms:RevokeGrant",
  "kms:RotateKeyOnDemand",
  "kms:ScheduleKeyDeletion",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:UpdateAlias",
  "kms:UpdateKeyDescription",
];

/** The key-policy statement for administrators. */
export function kmsAdministrationStatement(administratorArns: readonly string[]): PolicyStatement {
  return {
    sid: "KeyAdministrationWithoutUse",
    effect: "Allow",
    principals: { AWS: administratorArns },
    actions: KMS_ADMINISTRATION_ACTIONS,
    resources: ["*"],
  };
}

/** KMS deletion window: the longest AWS allows, so a scheduled deletion can be noticed and cancelled. */
export const KMS_DELETION_WINDOW_DAYS = 30;
