import { fail, Judgement } from "./rule";
import { strings } from "./terraform";
import { judgeGithubTrust, judgeIrsaTrust } from "./rules/aws-identity";
import { judgeGitlabTrust } from "./rules/ci-trust";

const GH = "token.actions.githubusercontent.com";

/**
 * Judges one rendered IAM trust statement with the same logic the gate's trust rules apply to
 * synthesized roles, recognising the kind of federation from the statement itself (at
 * construction the provider ARN is still a token). Constructs call it so a hand-written trust
 * handed to a role is refused at synth, not only flagged by the gate.
 * Returns undefined for statements that federate nothing (service or named-principal trusts).
 */
export function judgeTrustStatement(statement: Record<string, any>, production: boolean): Judgement | undefined {
  if (statement.Effect !== "Allow") return fail("a trust statement must allow");
  const aws = strings(statement.Principal?.AWS);
  if (statement.Principal === "*" || aws.some((p) => p === "*" || (!p.includes("${") && /[*?]/.test(p)))) return fail("the trust names a wildcard principal");
  if (strings(statement.Principal?.Federated).length === 0) return undefined;
  const keys = Object.values((statement.Condition ?? {}) as Record<string, Record<string, unknown>>).flatMap((pairs) => Object.entries(pairs));
  if (keys.some(([k]) => k.startsWith(`${GH}:`))) return judgeGithubTrust([statement]);
  const sub = keys.find(([k]) => k.endsWith(":sub"));
  const subValue = sub ? strings(sub[1])[0] ?? "" : "";
  if (subValue.startsWith("system:serviceaccount:")) return judgeIrsaTrust([statement]);
  if (subValue.startsWith("project_path:")) return judgeGitlabTrust(statement, production);
  return fail("a federated trust must pin the token's sub and aud to one identity (GitHub, GitLab or an EKS service account)");
}
