import { Cfr } from "../../catalog";
import { ResourceIndex } from "../links";
import { fail, pass, Rule } from "../rule";
import { block, bool, isExpression, str, strings, TfResource, SETTINGS_TYPE } from "../terraform";
import { policyStatements } from "./aws";
import { STS_GITHUB_CLAIM_KEYS, STS_GITLAB_CLAIM_KEYS } from "../../../model/sts-claim-keys";

/**
 * Apply-readiness rules: configurations that are valid Terraform and pass every scanner, but
 * whose first `terraform apply` into a fresh account fails, or whose trust can never be used.
 * Each is a trap DOMAIN.md records; each applies to any user's stack, not only ours.
 */

const GH = "token.actions.githubusercontent.com";

/** Claims STS evaluates (the model's lists), plus `amr`, which STS evaluates for any web identity. */
const STS_GITHUB_KEYS = new Set([...STS_GITHUB_CLAIM_KEYS, "amr"]);
const STS_GITLAB_KEYS = new Set([...STS_GITLAB_CLAIM_KEYS, "amr"]);

const SERVICE_LINKED_ROLE = /^arn:aws[a-z-]*:iam::[^:]*:role\/aws-service-role\/([a-z0-9.-]+)\/([A-Za-z0-9_+=,.@-]+)$/;

/** Does the unit create (aws_iam_service_linked_role) or look up (data.aws_iam_role) this role? */
function createsOrLooksUp(index: ResourceIndex, service: string, roleName: string): boolean {
  const created = index.ofType("aws_iam_service_linked_role").some((r) => str(r.body.aws_service_name) === service);
  const lookedUp = index.unit.resources.some((r) => r.mode === "data" && r.type === "aws_iam_role" && str(r.body.name) === roleName);
  return created || lookedUp;
}

function keyPrincipals(statement: Record<string, any>): string[] {
  return strings(statement.Principal?.AWS);
}

/** Issuer host of a trust statement's federated principal: GitHub, GitLab, or something else. */
function issuerKind(principal: string, index: ResourceIndex): "github" | "gitlab" | undefined {
  const url = str(index.resolve(principal)?.body.url) ?? principal;
  if (url.includes(GH)) return "github";
  if (/gitlab/i.test(url)) return "gitlab";
  return undefined;
}

export const APPLY_READINESS_AWS_RULES: readonly Rule[] = [
  {
    id: "HIPAA-APPLY-KMS-SERVICE-LINKED-ROLE",
    title: "A key policy names a service-linked role only when the stack creates or looks that role up",
    severity: "high",
    controls: [Cfr.ENCRYPTION],
    resourceTypes: ["aws_kms_key"],
    fix: "create the role (aws_iam_service_linked_role) or look it up (data \"aws_iam_role\"), and reference its arn in the key policy so the key is created after it",
    equivalents: [],
    evaluate: (key, index) => {
      const statements = policyStatements(key.body.policy);
      if (!statements) return undefined;
      // KMS validates every principal when the key is created: a literal service-linked role
      // ARN fails in a fresh account (the role appears only once the service first runs).
      for (const s of statements) {
        for (const principal of keyPrincipals(s)) {
          if (isExpression(principal)) continue;
          const m = SERVICE_LINKED_ROLE.exec(principal);
          if (m && !createsOrLooksUp(index, m[1], m[2])) {
            return fail(`the key policy names ${m[2]} (${m[1]}), which this stack neither creates nor looks up: CreateKey fails in an account where the role does not exist yet`);
          }
        }
      }
      return pass("every service-linked role the key names is created or looked up by the stack");
    },
  },
  {
    id: "HIPAA-APPLY-STS-CONDITION-KEY",
    title: "A CI trust conditions only on claims AWS STS evaluates",
    severity: "high",
    controls: [Cfr.AUTHENTICATION],
    resourceTypes: ["aws_iam_role"],
    fix: "condition GitHub trusts only on sub, aud, actor, actor_id, enterprise_id, environment, job_workflow_ref, ref, repository, repository_id, workflow (GitLab: sub, aud, namespace_id, pipeline_source, project_id, ref_protected, runner_environment, user_*); carry anything else inside sub with a claim template",
    equivalents: [],
    evaluate: (role, index) => {
      const statements = policyStatements(role.body.assume_role_policy);
      if (!statements) return undefined;
      let judged = false;
      for (const s of statements) {
        if (s.Effect !== "Allow") continue;
        for (const principal of strings(s.Principal?.Federated)) {
          const kind = issuerKind(principal, index);
          if (!kind) continue;
          judged = true;
          const allowed = kind === "github" ? STS_GITHUB_KEYS : STS_GITLAB_KEYS;
          for (const pairs of Object.values((s.Condition ?? {}) as Record<string, Record<string, unknown>>)) {
            for (const key of Object.keys(pairs)) {
              const claim = key.includes(":") ? key.slice(key.lastIndexOf(":") + 1) : key;
              if (!key.startsWith("aws:") && !allowed.has(claim)) {
                return fail(`the trust conditions on ${key}, which STS does not evaluate for ${kind === "github" ? "GitHub" : "GitLab"} tokens: a StringEquals on it never matches, so the role can never be assumed`);
              }
            }
          }
        }
      }
      return judged ? pass("every condition key is a claim STS evaluates") : undefined;
    },
  },
  {
    id: "HIPAA-STATE-REMOTE-ENCRYPTED",
    title: "A PHI environment stack keeps its state remotely, encrypted with a customer-managed key and locked",
    severity: "high",
    controls: [Cfr.ENCRYPTION, Cfr.INTEGRITY],
    resourceTypes: [SETTINGS_TYPE],
    fix: "configure a remote backend: s3 with encrypt = true, kms_key_id and use_lockfile = true (or a dynamodb_table); gcs with kms_encryption_key",
    equivalents: [],
    evaluate: (settings: TfResource) => {
      const env = block(settings.body, "hipaa_environment");
      if (bool(env?.handles_phi) !== true) return undefined;
      const backend = (settings.body.backend ?? {}) as Record<string, Record<string, unknown>>;
      const [type, config] = Object.entries(backend)[0] ?? ["local", {}];
      const name = str(env?.name) ?? "this";
      // State holds every attribute of every resource, generated secrets included: for a PHI
      // environment it must be as protected as the resources themselves.
      if (type === "s3") {
        if (bool(config.encrypt) !== true || !str(config.kms_key_id)) return fail(`the ${name} stack's S3 state is not encrypted with a customer-managed key (encrypt, kms_key_id)`);
        if (bool(config.use_lockfile) !== true && !str(config.dynamodb_table)) return fail(`the ${name} stack's S3 state has no lock (use_lockfile or dynamodb_table)`);
        return pass("S3 state, SSE-KMS with a customer-managed key, locked");
      }
      if (type === "gcs") {
        return str(config.kms_encryption_key) ? pass("GCS state encrypted with a customer-managed key") : fail(`the ${name} stack's GCS state has no kms_encryption_key`);
      }
      if (type === "local") return fail(`the ${name} environment handles PHI but its stack keeps local state`);
      return pass(`${type} backend (remote; its encryption is the backend's)`);
    },
  },
];
