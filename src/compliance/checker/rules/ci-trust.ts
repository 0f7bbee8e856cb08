import { Cfr } from "../../catalog";
import { ResourceIndex } from "../links";
import { fail, Judgement, pass, Rule } from "../rule";
import { block, str, strings, SETTINGS_TYPE } from "../terraform";
import { policyStatements } from "./aws";

/**
 * Trust rules for GitLab CI (AWS role trusts and GCP Workload Identity conditions) and the
 * exact-id rule for every WIF condition: a credential only for one project or repository by id,
 * only from protected refs where a pattern is trusted, and, for production, only from
 * protected refs (and, on GCP, a protected GitLab environment).
 */

/** The tier the unit declares in its `hipaa_environment` local, if any. */
function declaredTier(index: ResourceIndex): string | undefined {
  const settings = index.ofType(SETTINGS_TYPE)[0];
  return str(block(settings?.body, "hipaa_environment")?.tier);
}

function isGitlabIssuer(principal: string, index: ResourceIndex): boolean {
  const url = str(index.resolve(principal)?.body.url) ?? principal;
  return /gitlab/i.test(url);
}

const GITLAB_SUB = /^project_path:([^:]+):ref_type:([^:]+):ref:(.+)$/;

/** Judges one AWS trust statement federating a GitLab issuer. */
export function judgeGitlabTrust(statement: Record<string, any>, production: boolean): Judgement {
  const entries: [string, string, string][] = [];
  for (const [op, pairs] of Object.entries((statement.Condition ?? {}) as Record<string, Record<string, unknown>>)) {
    for (const [key, value] of Object.entries(pairs)) for (const v of strings(value)) entries.push([op, key, v]);
  }
  const find = (claim: string, op?: string) => entries.find(([o, k]) => k.endsWith(`:${claim}`) && (op === undefined || o === op));
  if (!find("aud", "StringEquals")) return fail("the trust has no StringEquals on the GitLab audience");
  const sub = find("sub");
  if (!sub) return fail("the trust does not pin sub: any project and ref on the issuer can assume the role");
  const [op, , value] = sub;
  const m = GITLAB_SUB.exec(value);
  if (!m) return fail(`sub "${value}" is not project_path:GROUP/PROJECT:ref_type:TYPE:ref:REF`);
  const [, project, refType, ref] = m;
  if (/[*?]/.test(project)) return fail(`sub "${value}" trusts a wildcard project path`);
  if (/[*?]/.test(refType)) return fail(`sub "${value}" trusts any ref type`);
  if (/^[*?]+$/.test(ref)) return fail(`sub "${value}" trusts every ${refType}`);
  if (/[*?]/.test(ref) && op !== "StringLike") return fail(`sub "${value}" holds a wildcard but is matched with ${op}, which compares it literally`);
  const isPattern = /[*?]/.test(ref);
  const refProtected = find("ref_protected", "StringEquals")?.[2] === "true";
  if (isPattern && !refProtected) return fail(`sub pattern "${value}" is trusted without ref_protected = "true": an unprotected ${refType} matching it gets a credential`);
  if (production && !refProtected) return fail(`a production trust of ${refType} "${ref}" does not require ref_protected = "true"`);
  return pass("GitLab trust pins audience, project, ref type and ref; patterns and production only from protected refs");
}

/** Splits a CEL condition at its top-level `||`. */
function topLevelClauses(condition: string): string[] {
  const clauses: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < condition.length; i++) {
    const c = condition[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (depth === 0 && condition.startsWith("||", i)) {
      clauses.push(condition.slice(start, i));
      start = i + 2;
      i++;
    }
  }
  clauses.push(condition.slice(start));
  return clauses.map((c) => c.trim().replace(/^\((.*)\)$/s, "$1").trim());
}

const EXACT_ID = (claim: string) => new RegExp(`assertion\\.${claim}\\s*==\\s*(['"])\\d+\\1`);

export const CI_TRUST_RULES: readonly Rule[] = [
  {
    id: "HIPAA-IAM-GITLAB-OIDC-TRUST",
    title: "Roles trusting GitLab CI pin the audience, one project and its refs; patterns and production only from protected refs",
    severity: "critical",
    controls: [Cfr.AUTHENTICATION, Cfr.ACCESS_MANAGEMENT],
    resourceTypes: ["aws_iam_role"],
    fix: "StringEquals on <issuer>:aud and :ref_protected = \"true\", and :sub = project_path:GROUP/PROJECT:ref_type:TYPE:ref:REF (StringLike only for a protected tag pattern such as v*)",
    equivalents: [],
    evaluate: (role, index) => {
      const statements = (policyStatements(role.body.assume_role_policy) ?? []).filter(
        (s) => s.Effect === "Allow" && strings(s.Principal?.Federated).some((p) => isGitlabIssuer(p, index)),
      );
      if (statements.length === 0) return undefined;
      const production = declaredTier(index) === "production" || str((role.body.tags as Record<string, unknown> | undefined)?.Environment) === "production";
      for (const s of statements) {
        const j = judgeGitlabTrust(s, production);
        if (j.verdict === "fail") return j;
      }
      return pass("GitLab trust pins audience, project, ref type and ref");
    },
  },
  {
    id: "HIPAA-WIF-CONDITION-EXACT-ID",
    title: "Every clause of a Workload Identity condition pins a repository id (GitHub) or project id (GitLab) with ==",
    severity: "critical",
    controls: [Cfr.AUTHENTICATION],
    resourceTypes: ["google_iam_workload_identity_pool_provider"],
    fix: "in every ||-clause: assertion.repository_id == '<id>' (GitHub) or assertion.project_id == '<id>' (GitLab); GitLab also the ref (== or startsWith with ref_protected == 'true'), and for production assertion.environment == '<env>' && assertion.environment_protected == 'true'",
    equivalents: [],
    evaluate: (p, index) => {
      const condition = str(p.body.attribute_condition)?.trim();
      const issuer = str(block(p.body, "oidc")?.issuer_uri);
      if (!condition || !issuer) return undefined;
      const gitlab = /gitlab/i.test(issuer);
      const github = issuer.includes("token.actions.githubusercontent.com");
      if (!gitlab && !github) return undefined;
      const production = declaredTier(index) === "production";
      for (const clause of topLevelClauses(condition)) {
        // A mention is not a pin: startsWith, in, != or a name (renamable) all let other projects in.
        if (!EXACT_ID(gitlab ? "project_id" : "repository_id").test(clause)) {
          return fail(`clause "${clause}" does not pin ${gitlab ? "assertion.project_id" : "assertion.repository_id"} with == to a numeric id`);
        }
        if (gitlab) {
          const exactRef = /assertion\.ref\s*==\s*'/.test(clause);
          const refPattern = /assertion\.ref\.startsWith\(/.test(clause);
          const refProtected = /assertion\.ref_protected\s*==\s*'true'/.test(clause);
          if (!exactRef && !refPattern) return fail(`clause "${clause}" pins no ref: every branch and tag of the project is trusted`);
          if (refPattern && !refProtected) return fail(`clause "${clause}" trusts a ref pattern without assertion.ref_protected == 'true'`);
          if (production && !(refProtected && /assertion\.environment\s*==\s*'/.test(clause) && /assertion\.environment_protected\s*==\s*'true'/.test(clause))) {
            return fail(`production clause "${clause}" does not require a protected ref and a protected GitLab environment`);
          }
        }
      }
      return pass("every clause pins an id with ==");
    },
  },
];
