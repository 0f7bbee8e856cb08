import { HipaaConfigError } from "../../src/errors";
import { Environment, GithubOidcSubject, GitlabOidcSubject } from "../../src/model";

/**
 * What a Workload Identity Federation provider needs for one CI system, derived from the same
 * typed subjects the AWS trusts use: issuer, attribute mapping, the attribute condition (CEL)
 * and the principalSet attributes the service-account binding names.
 */
export interface WifTrustSpec {
  readonly issuerUri: string;
  readonly attributeMapping: Readonly<Record<string, string>>;
  readonly attributeCondition: string;
  /** `attribute.KEY/VALUE` suffixes of the principalSets allowed to impersonate a deploy service account. */
  readonly principalSetAttributes: readonly string[];
  /** One entry per application (GitHub repository id, GitLab project id): each gets its own deploy service account. */
  readonly applications: readonly WifApplication[];
  readonly environment: Environment;
}

/** One application a WIF provider trusts, as its own deploy service account needs it. */
export interface WifApplication {
  /** The repository name (GitHub) or project path (GitLab): names construct ids and defaults, never a position. */
  readonly name: string;
  /** The one `attribute.repository_id/ID` or `attribute.project_id/ID` principalSet suffix that may impersonate it. */
  readonly principalSetAttribute: string;
}

/**
 * One application per immutable id. Two ids under one name would share construct ids (and one
 * would silently inherit the other's deploy identity), so they are refused.
 */
function applicationsOf(path: string, entries: readonly { name: string; attribute: string }[]): WifApplication[] {
  const byName = new Map<string, string>();
  for (const { name, attribute } of entries) {
    const other = byName.get(name);
    if (other !== undefined && other !== attribute) {
      throw new HipaaConfigError({
        path,
        problem: `${name} is named by two ids (${other}, ${attribute})`,
        cfr: "164.308(a)(4)",
        fix: "give each repository or project its numeric id once; a renamed repository keeps its id",
      });
    }
    byName.set(name, attribute);
  }
  return [...byName.entries()].map(([name, principalSetAttribute]) => ({ name, principalSetAttribute }));
}

const GOOGLE_SUBJECT_MAX = 127;
const CONDITION_MAX = 4096;

function celString(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

function oneEnvironment(path: string, environments: readonly Environment[]): Environment {
  if (environments.length === 0) {
    throw new HipaaConfigError({ path, problem: "no subject is trusted", cfr: "164.312(d)", fix: "pass at least one subject (repository + environment)" });
  }
  const names = new Set(environments.map((e) => e.name));
  if (names.size > 1) {
    throw new HipaaConfigError({
      path,
      problem: `subjects span environments ${[...names].join(", ")}`,
      cfr: "164.308(a)(4)",
      fix: "give each environment its own pool, provider and deploy service account",
    });
  }
  return environments[0];
}

function checkLimits(path: string, subjects: readonly string[], condition: string): void {
  const long = subjects.find((s) => s.length > GOOGLE_SUBJECT_MAX);
  if (long) {
    throw new HipaaConfigError({
      path,
      problem: `sub ${JSON.stringify(long)} is ${long.length} characters; google.subject is capped at ${GOOGLE_SUBJECT_MAX}`,
      fix: "use a shorter subject format (classic or immutable) for this repository",
    });
  }
  if (condition.length > CONDITION_MAX) {
    throw new HipaaConfigError({ path, problem: `the attribute condition is ${condition.length} characters (limit ${CONDITION_MAX})`, fix: "split the repositories over several providers" });
  }
}

/** GitHub Actions: the condition pins owner and repository by id, the environment and, when pinned, the workflow ref. */
export function githubWifSpec(path: string, subjects: readonly GithubOidcSubject[]): WifTrustSpec {
  const environment = oneEnvironment(path, subjects.map((s) => s.environment));
  const clauses = subjects.map((s) => {
    const parts = [
      `assertion.repository_owner_id == ${celString(String(s.repository.ownerId))}`,
      `assertion.repository_id == ${celString(String(s.repository.repositoryId))}`,
      `assertion.environment == ${celString(s.environment.name)}`,
    ];
    if (s.workflow) {
      const ref = s.workflow.jobWorkflowRef;
      parts.push(s.workflow.isTagPattern ? `assertion.job_workflow_ref.startsWith(${celString(ref.slice(0, -1))})` : `assertion.job_workflow_ref == ${celString(ref)}`);
    }
    return `(${parts.join(" && ")})`;
  });
  const attributeCondition = clauses.join(" || ");
  checkLimits(path, subjects.map((s) => s.subject), attributeCondition);
  return {
    issuerUri: GithubOidcSubject.ISSUER,
    attributeMapping: {
      "google.subject": "assertion.sub",
      "attribute.repository": "assertion.repository",
      "attribute.repository_id": "assertion.repository_id",
      "attribute.repository_owner_id": "assertion.repository_owner_id",
      "attribute.environment": "assertion.environment",
      "attribute.job_workflow_ref": "assertion.job_workflow_ref",
    },
    attributeCondition,
    principalSetAttributes: [...new Set(subjects.map((s) => `attribute.repository_id/${s.repository.repositoryId}`))],
    applications: applicationsOf(path, subjects.map((s) => ({ name: s.repository.name, attribute: `attribute.repository_id/${s.repository.repositoryId}` }))),
    environment,
  };
}

/**
 * GitLab CI: the condition pins the project by id (and path), the ref type and ref, that the ref
 * is protected where required, and the job's GitLab environment (`environment`, and
 * `environment_protected`): without the environment pin, one tag
 * pipeline's token would be accepted by every environment that trusts the same tags.
 */
export function gitlabWifSpec(path: string, subjects: readonly GitlabOidcSubject[], issuerUri = "https://gitlab.com"): WifTrustSpec {
  const environment = oneEnvironment(path, subjects.map((s) => s.environment));
  const clauses = subjects.map((s) => {
    if (s.project.projectId === undefined) {
      throw new HipaaConfigError({
        path,
        problem: `project ${s.project.path} has no numeric id, so the condition would pin only its path, which can be renamed and re-registered`,
        cfr: "164.312(d)",
        fix: `pass new GitlabProjectRef("${s.project.path}", { projectId: <id> }) (glab api projects/${encodeURIComponent(s.project.path)} | jq .id)`,
      });
    }
    const ref = s.isPattern ? `assertion.ref.startsWith(${celString(s.ref.slice(0, -1))})` : `assertion.ref == ${celString(s.ref)}`;
    const parts = [
      `assertion.project_id == ${celString(String(s.project.projectId))}`,
      `assertion.project_path == ${celString(s.project.path)}`,
      `assertion.ref_type == ${celString(s.refType)}`,
      ref,
    ];
    if (s.refProtected) parts.push("assertion.ref_protected == 'true'");
    // Every tier: an unprotected GitLab environment of the same name (any Maintainer can create
    // one) must not satisfy the condition.
    parts.push(`assertion.environment == ${celString(s.environment.name)}`, "assertion.environment_protected == 'true'");
    return `(${parts.join(" && ")})`;
  });
  const attributeCondition = clauses.join(" || ");
  checkLimits(path, subjects.map((s) => s.subject), attributeCondition);
  return {
    issuerUri,
    attributeMapping: {
      "google.subject": "assertion.sub",
      "attribute.project_id": "assertion.project_id",
      "attribute.project_path": "assertion.project_path",
      "attribute.ref": "assertion.ref",
      "attribute.ref_type": "assertion.ref_type",
      "attribute.ref_protected": "assertion.ref_protected",
      "attribute.environment": "assertion.environment",
    },
    attributeCondition,
    principalSetAttributes: [...new Set(subjects.map((s) => `attribute.project_id/${s.project.projectId}`))],
    applications: applicationsOf(path, subjects.map((s) => ({ name: s.project.path, attribute: `attribute.project_id/${s.project.projectId}` }))),
    environment,
  };
}
