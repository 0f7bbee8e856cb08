/**
 * Which CI token claims AWS STS evaluates as trust-policy condition keys. One list, read by the
 * constructs that build trusts and by the checker that judges anyone's: a StringEquals on a key
 * STS does not evaluate never matches, so a role conditioned on one can never be assumed.
 */

/**
 * The GitHub claims AWS STS is verified to evaluate as condition keys under
 * `token.actions.githubusercontent.com:` (AWS service reference for `sts`). A StringEquals on a
 * key STS does not evaluate never matches, so the role could never be assumed: only these keys
 * reach a trust policy. (`amr`, which STS also evaluates, carries no CI identity.)
 */
export const STS_GITHUB_CLAIM_KEYS: readonly string[] = [
  "sub", "aud", "actor", "actor_id", "enterprise_id", "environment", "job_workflow_ref", "ref", "repository", "repository_id", "workflow",
];

/** GitLab claims STS evaluates under `<issuer host>:`; there is no `environment` key. */
export const STS_GITLAB_CLAIM_KEYS: readonly string[] = [
  "sub", "aud", "namespace_id", "pipeline_source", "project_id", "ref_protected", "runner_environment", "user_access_level", "user_email", "user_id", "user_login",
];

