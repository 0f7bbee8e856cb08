import { Token } from "cdktf";
import { HipaaConfigError } from "../../src/errors";
import { GithubOidcSubject, GitlabOidcSubject, STS_GITHUB_CLAIM_KEYS } from "../../src/model";

export { STS_GITHUB_CLAIM_KEYS, STS_GITLAB_CLAIM_KEYS } from "../../src/model";
import { PolicyStatement } from "./iam-policy";

/**
 * Trust statements: who may assume a ScopedRole. Each pins one identity exactly; none accepts
 * a wildcard except where a caller-proven protection makes one safe (see the OIDC trusts).
 */

const K8S_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * IRSA: only pods running as `namespace/serviceAccount` on the cluster whose issuer is
 * `oidcIssuerHost` (StringEquals on `sub` and `aud`).
 */
export function irsaTrust(path: string, oidcProviderArn: string, oidcIssuerHost: string, namespace: string, serviceAccount: string): PolicyStatement {
  for (const [what, value] of [["namespace", namespace], ["service account", serviceAccount]] as const) {
    if (!K8S_NAME.test(value)) {
      throw new HipaaConfigError({
        path,
        problem: `${what} ${JSON.stringify(value)} is not a Kubernetes DNS label${/[*?]/.test(value) ? " (wildcards are refused)" : ""}`,
        cfr: "164.312(d)",
        fix: `name exactly one ${what} in lowercase letters, digits and '-'`,
      });
    }
  }
  return {
    sid: "IrsaServiceAccount",
    effect: "Allow",
    principals: { Federated: [oidcProviderArn] },
    actions: ["sts:AssumeRoleWithWebIdentity"],
    conditions: {
      StringEquals: {
        [`${oidcIssuerHost}:sub`]: `system:serviceaccount:${namespace}:${serviceAccount}`,
        [`${oidcIssuerHost}:aud`]: "sts.amazonaws.com",
      },
    },
  };
}

/** Named IAM principals (roles of people, such as auditors' SSO roles); no wildcard. */
export function principalsTrust(path: string, principalArns: readonly string[]): PolicyStatement {
  if (principalArns.length === 0) {
    throw new HipaaConfigError({ path, problem: "no principal may assume the role", fix: "name at least one role ARN, e.g. the auditors' SSO permission-set role" });
  }
  for (const arn of principalArns) {
    if (!Token.isUnresolved(arn) && (/[*?]/.test(arn) || !/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\//.test(arn))) {
      throw new HipaaConfigError({
        path,
        problem: `${JSON.stringify(arn)} is not one IAM role or user ARN`,
        cfr: "164.308(a)(4)",
        fix: "name each role or user exactly, e.g. arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Auditor_abc",
      });
    }
  }
  return { sid: "NamedPrincipals", effect: "Allow", principals: { AWS: principalArns }, actions: ["sts:AssumeRole", "sts:SetSourceIdentity"] };
}

/**
 * Named IAM principals trusted through their accounts: `Principal: {AWS: <account root>}`
 * narrowed by `ArnEquals aws:PrincipalArn` to exactly `principalArns`. IAM refuses a trust that
 * names a principal that does not exist yet, and stores a named role as its unique id (AROA...),
 * so a trust naming an SSO permission-set role breaks the apply before the role is provisioned and
 * drifts once it is re-provisioned; an account root plus the ARN condition does neither.
 */
export function accountPinnedPrincipalsTrust(path: string, principalArns: readonly string[]): PolicyStatement {
  const named = principalsTrust(path, principalArns);
  const roots = [...new Set(principalArns.map((arn) => (Token.isUnresolved(arn) ? undefined : arn.replace(/^(arn:[a-z-]+:iam::\d{12}):.*$/, "$1:root"))))];
  if (roots.includes(undefined)) return named;
  return { ...named, sid: "NamedPrincipalsByArn", principals: { AWS: roots as string[] }, conditions: { ArnEquals: { "aws:PrincipalArn": [...principalArns] } } };
}

/**
 * Claims a subject pins that STS is not verified to evaluate, and why leaving each out of an
 * AWS trust loses nothing (the WIF condition still pins them; Google evaluates any claim).
 */
const NOT_FOR_STS: Readonly<Record<string, string>> = {
  repository_owner_id: "repository_id already pins the repository, and so its owner",
};

/**
 * GitHub Actions OIDC: StringEquals on `aud` and every claim the subject pins that STS
 * evaluates (`sub`, `repository_id`, `environment`, `job_workflow_ref`); StringLike only for a
 * protected `v*` workflow tag pattern.
 */
export function githubActionsTrust(path: string, oidcProviderArn: string, subject: GithubOidcSubject, audience = "sts.amazonaws.com"): PolicyStatement {
  const prefix = GithubOidcSubject.ISSUER_HOST;
  const equals: Record<string, string> = { [`${prefix}:aud`]: audience };
  const like: Record<string, string> = {};
  for (const pinned of subject.pinnedClaims) {
    if (!STS_GITHUB_CLAIM_KEYS.includes(pinned.claim)) {
      if (NOT_FOR_STS[pinned.claim]) continue;
      throw new HipaaConfigError({
        path,
        problem: `the subject pins claim "${pinned.claim}", which AWS STS does not evaluate: a StringEquals on it would make the role unassumable`,
        cfr: "164.312(d)",
        fix: `pin only ${STS_GITHUB_CLAIM_KEYS.join(", ")} in an AWS trust, or carry the claim inside sub with a custom claim template`,
      });
    }
    const target = pinned.operator === "StringLike" ? like : equals;
    target[`${prefix}:${pinned.claim}`] = pinned.value;
  }
  assertNoWildcards(path, equals);
  return {
    sid: "GithubActionsOidc",
    effect: "Allow",
    principals: { Federated: [oidcProviderArn] },
    actions: ["sts:AssumeRoleWithWebIdentity"],
    conditions: Object.keys(like).length > 0 ? { StringEquals: equals, StringLike: like } : { StringEquals: equals },
  };
}

/**
 * GitLab CI ID tokens: StringEquals on `<issuer>:aud`, `<issuer>:sub`
 * (`project_path:GROUP/PROJECT:ref_type:TYPE:ref:REF`), `:project_id` when known and
 * `:ref_protected` for protected refs; StringLike on `sub` only for a protected tag pattern.
 */
export function gitlabCiTrust(path: string, oidcProviderArn: string, issuerHost: string, subject: GitlabOidcSubject, audience: string): PolicyStatement {
  const equals: Record<string, string> = { [`${issuerHost}:aud`]: audience };
  // Keys STS evaluates for GitLab (STS_GITLAB_CLAIM_KEYS): the project by id, and that the ref
  // is protected, so an unprotected ref that happens to match never gets a credential.
  if (subject.project.projectId !== undefined) equals[`${issuerHost}:project_id`] = String(subject.project.projectId);
  if (subject.refProtected) equals[`${issuerHost}:ref_protected`] = "true";
  const like: Record<string, string> = {};
  (subject.isPattern ? like : equals)[`${issuerHost}:sub`] = subject.subject;
  assertNoWildcards(path, equals);
  return {
    sid: "GitlabCiOidc",
    effect: "Allow",
    principals: { Federated: [oidcProviderArn] },
    actions: ["sts:AssumeRoleWithWebIdentity"],
    conditions: subject.isPattern ? { StringEquals: equals, StringLike: like } : { StringEquals: equals },
  };
}

function assertNoWildcards(path: string, equals: Record<string, string>): void {
  for (const [key, value] of Object.entries(equals)) {
    if (!Token.isUnresolved(value) && /[*?]/.test(value)) {
      throw new HipaaConfigError({ path, problem: `trust condition ${key} = ${JSON.stringify(value)} contains a wildcard`, cfr: "164.312(d)", fix: "pin the exact value" });
    }
  }
}
