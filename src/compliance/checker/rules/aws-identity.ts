import { Cfr } from "../../catalog";
import { fail, Judgement, pass, Rule } from "../rule";
import { block, bool, num, str, strings, TfResource } from "../terraform";
import { ResourceIndex } from "../links";
import { policyStatements } from "./aws";

const GH = "token.actions.githubusercontent.com";
const TAG_VERSION_WILDCARD = /^[^*?]+@refs\/tags\/[A-Za-z0-9._-]*\*$/;

function conditionEntries(statement: Record<string, any>): [string, string, string][] {
  const out: [string, string, string][] = [];
  for (const [operator, pairs] of Object.entries(statement.Condition ?? {})) {
    for (const [key, value] of Object.entries(pairs as Record<string, unknown>)) for (const v of strings(value)) out.push([operator, key, v]);
  }
  return out;
}

/** The trust statements of a role that federate a principal matching `federated`. */
function federatedStatements(role: TfResource, federated: (principal: string, index?: ResourceIndex) => boolean, index: ResourceIndex): Record<string, any>[] | undefined {
  const statements = policyStatements(role.body.assume_role_policy, index);
  if (!statements) return undefined;
  return statements.filter((s) => s.Effect === "Allow" && strings(s.Principal?.Federated).some((p) => federated(p, index)));
}

function isGithubProvider(principal: string, index?: ResourceIndex): boolean {
  if (principal.includes(GH)) return true;
  const provider = index?.resolve(principal);
  return provider?.type === "aws_iam_openid_connect_provider" && str(provider.body.url)?.includes(GH) === true;
}

/**
 * An EKS cluster's IRSA issuer: named literally (`oidc.eks.REGION.amazonaws.com/id/X`), or a
 * provider whose url is an EKS issuer or a reference to a cluster's identity. Other OIDC
 * providers (GitLab, a self-hosted IdP) are not IRSA and are not judged as such.
 */
function isEksIssuer(principal: string, index?: ResourceIndex): boolean {
  if (/oidc\.eks\./.test(principal)) return true;
  const provider = index?.resolve(principal);
  if (provider?.type !== "aws_iam_openid_connect_provider") return false;
  const url = provider.body.url;
  return (typeof url === "string" && (/oidc\.eks\./.test(url) || /\baws_eks_cluster\./.test(url)));
}

/** Judges GitHub Actions trust statements (exported so constructs refuse what the gate would fail). */
export function judgeGithubTrust(statements: Record<string, any>[]): Judgement {
  for (const s of statements) {
    const entries = conditionEntries(s);
    const equals = (key: string) => entries.find(([op, k]) => op === "StringEquals" && k === `${GH}:${key}`);
    for (const key of ["aud", "sub"]) {
      if (!equals(key)) return fail(`the trust has no StringEquals on ${GH}:${key}`);
    }
    for (const [op, key, value] of entries) {
      if (!/[*?]/.test(value)) continue;
      if (op === "StringLike" && key === `${GH}:job_workflow_ref` && TAG_VERSION_WILDCARD.test(value)) continue;
      return fail(`${op} ${key} = "${value}" contains a wildcard (only a trailing tag-version wildcard on job_workflow_ref is acceptable)`);
    }
    if (entries.some(([op, key]) => op !== "StringEquals" && key === `${GH}:sub`)) return fail("sub is not matched with StringEquals");
    const sub = equals("sub")![2];
    if (!/:environment:[^:]+/.test(sub) && !entries.some(([op, k]) => op === "StringEquals" && k === `${GH}:environment`)) {
      return fail(`sub "${sub}" pins no environment: any branch of the repository could assume the role`);
    }
  }
  return pass("aud and the exact sub are pinned; no wildcard beyond a tag version");
}

/** Judges IRSA trust statements: one namespace and service account, audience sts.amazonaws.com. */
export function judgeIrsaTrust(statements: Record<string, any>[]): Judgement {
  for (const s of statements) {
    const entries = conditionEntries(s);
    const sub = entries.find(([op, k]) => op === "StringEquals" && k.endsWith(":sub"));
    const aud = entries.find(([op, k]) => op === "StringEquals" && k.endsWith(":aud"));
    if (!sub || !/^system:serviceaccount:[a-z0-9-]+:[a-z0-9-]+$/.test(sub[2])) return fail("sub is not pinned to one system:serviceaccount:NAMESPACE:NAME");
    if (!aud || aud[2] !== "sts.amazonaws.com") return fail("aud is not pinned to sts.amazonaws.com");
    if (entries.some(([, , v]) => /[*?]/.test(v))) return fail("the trust contains a wildcard");
  }
  return pass("trust pinned to one service account with its audience");
}

export const AWS_IDENTITY_RULES: readonly Rule[] = [
  {
    id: "HIPAA-IAM-GITHUB-OIDC-TRUST",
    title: "Roles trusting GitHub Actions pin aud and the exact sub (repository and environment); no wildcards",
    severity: "critical",
    controls: [Cfr.AUTHENTICATION, Cfr.ACCESS_MANAGEMENT],
    resourceTypes: ["aws_iam_role"],
    fix: "StringEquals on token.actions.githubusercontent.com:aud and :sub (repo:OWNER/REPO:environment:ENV), plus :repository_id; only job_workflow_ref may use a trailing @refs/tags/v* wildcard",
    // Checkov's CKV_AWS_358 accepts repo:org/* (we refuse it) and rejects immutable subjects: not equivalent.
    equivalents: [],
    evaluate: (role, index) => {
      const statements = federatedStatements(role, isGithubProvider, index);
      if (!statements || statements.length === 0) return undefined;
      return judgeGithubTrust(statements);
    },
  },
  {
    id: "HIPAA-OIDC-CLAIM-TEMPLATE-CONSISTENCY",
    title: "The sub a role trusts has the shape the repository's OIDC claim template makes GitHub emit",
    severity: "critical",
    controls: [Cfr.AUTHENTICATION],
    resourceTypes: ["aws_iam_role"],
    acrossStacks: ["github_actions_repository_oidc_subject_claim_customization_template"],
    fix: "derive the role trust and the claim template from one GithubOidcSubject (HipaaSubstrate does), or align the template's include_claim_keys with the trusted sub",
    equivalents: [],
    evaluate: (role, index) => {
      const statements = federatedStatements(role, isGithubProvider, index);
      if (!statements || statements.length === 0) return undefined;
      const templates = index.ofTypeEverywhere("github_actions_repository_oidc_subject_claim_customization_template");
      if (templates.length === 0) return undefined;
      for (const s of statements) {
        const sub = conditionEntries(s).find(([op, k]) => op === "StringEquals" && k === `${GH}:sub`)?.[2];
        if (!sub) continue;
        const repo = /^repo:[^/@]+(?:@\d+)?\/([^:@]+)/.exec(sub)?.[1] ?? /(?:^|:)repository:[^/]+\/([^:]+)/.exec(sub)?.[1];
        const template = templates.find((t) => (repo !== undefined && str(t.body.repository) === repo));
        if (!template) continue;
        const useDefault = bool(template.body.use_default) === true;
        if (useDefault && !sub.startsWith("repo:")) return fail(`${template.address} emits the default repo:... sub, but the role trusts "${sub}"`);
        if (!useDefault) {
          const keys = strings(template.body.include_claim_keys);
          const shape = keys.map((k) => (k === "context" ? "environment" : k)).join(":.*:");
          if (!new RegExp(`^${shape}:`).test(sub)) return fail(`${template.address} emits a sub from ${keys.join(", ")}, but the role trusts "${sub}"`);
        }
      }
      return pass("the trusted sub matches the repository's claim template");
    },
  },
  {
    id: "HIPAA-IAM-IRSA-TRUST",
    title: "IRSA roles are trusted by one namespace and service account, with the audience pinned",
    severity: "critical",
    controls: [Cfr.AUTHENTICATION, Cfr.ACCESS_CONTROL],
    resourceTypes: ["aws_iam_role"],
    fix: "StringEquals on <issuer>:sub = system:serviceaccount:NAMESPACE:SERVICEACCOUNT and <issuer>:aud = sts.amazonaws.com",
    equivalents: [],
    evaluate: (role, index) => {
      const statements = federatedStatements(role, isEksIssuer, index);
      if (!statements || statements.length === 0) return undefined;
      return judgeIrsaTrust(statements);
    },
  },
  {
    id: "HIPAA-IAM-NO-WILDCARD-ACTIONS",
    title: "Role policies grant no wildcard actions",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["aws_iam_role_policy", "aws_iam_policy"],
    fix: "list the actions the role needs",
    equivalents: [],
    evaluate: (p, index) => {
      const statements = policyStatements(p.body.policy, index);
      if (!statements) return undefined;
      const wild = statements.find((s) => s.Effect === "Allow" && strings(s.Action).some((a) => a === "*" || a.endsWith(":*")));
      return wild ? fail(`statement ${wild.Sid ?? "(no Sid)"} allows ${strings(wild.Action).join(", ")}`) : pass("every action is named");
    },
  },
  {
    id: "HIPAA-EKS-NODE-GROUP-HARDENED",
    title: "EKS node groups: no SSH, tainted, and a launch template requiring IMDSv2 with hop limit 1 and encrypted volumes",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["aws_eks_node_group"],
    fix: "remove remote_access, add a taint, and use a launch template with metadata_options { http_tokens = \"required\", http_put_response_hop_limit = 1 } and encrypted block devices",
    equivalents: [],
    evaluate: (group, index) => {
      if (block(group.body, "remote_access")) return fail("SSH remote_access is configured");
      if (!block(group.body, "taint")) return fail("no taint keeps other workloads off the nodes");
      const template = index.resolve(block(group.body, "launch_template")?.id ?? block(group.body, "launch_template")?.name);
      if (!template) return fail("no launch template: IMDS hop limit and volume encryption cannot be enforced");
      const m = block(template.body, "metadata_options");
      if (str(m?.http_tokens) !== "required") return fail(`launch template ${template.address} allows IMDSv1`);
      if (num(m?.http_put_response_hop_limit) !== 1) return fail(`launch template ${template.address} lets pods reach IMDS (hop limit is not 1)`);
      const unencrypted = [template.body.block_device_mappings].flat().filter(Boolean).some((b: any) => bool(block(b, "ebs")?.encrypted ?? b?.ebs?.encrypted) !== true);
      if (unencrypted) return fail(`launch template ${template.address} has an unencrypted volume`);
      return pass("no SSH, tainted, IMDSv2 hop limit 1, encrypted volumes");
    },
  },
];
