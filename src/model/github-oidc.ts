import { HipaaConfigError } from "../errors";
import { Environment } from "./environment";
import { RepositoryRef, WorkflowRef } from "./repository";

/**
 * The OIDC subject GitHub Actions emits for a deployment job, and every claim a cloud trust pins.
 *
 * This one object is what the AWS role trust, the GCP WIF condition and the GitHub repository's
 * claim template are all built from, so the `sub` GitHub emits and the `sub` the cloud expects
 * cannot drift apart.
 */

/** How the repository's `sub` claim is shaped. */
export enum GithubSubjectFormat {
  /** GitHub's default: `repo:OWNER/REPO:environment:ENV`. */
  CLASSIC = "classic",
  /**
   * Immutable subject: `repo:OWNER@OWNER_ID/REPO@REPO_ID:environment:ENV`, which survives
   * renames. The default for repositories created or renamed on or after 2026-07-15.
   */
  IMMUTABLE = "immutable",
  /** A customized claim template (`include_claim_keys`), see `claimKeys`. */
  CUSTOM = "custom",
}

/**
 * Whether GitHub emits immutable subjects (`OWNER@OWNER_ID/REPO@REPO_ID`) for a repository, and
 * why. GitHub decides it, not the claim template Terraform manages: it is the default for
 * repositories created, renamed or transferred on or after 2026-07-15, and older repositories opt
 * in through the REST field `use_immutable_subject`, which the provider's
 * `github_actions_repository_oidc_subject_claim_customization_template` does not manage
 * (integrations/github #3548). Say which applies: a wrong guess makes every trust unassumable.
 * Check with `gh api repos/ORG/REPO/actions/oidc/customization/sub --jq .sub_claim_prefix`.
 */
export enum ImmutableSubjects {
  /** An older repository that has not opted in: `repo:OWNER/REPO`. */
  NOT_EMITTED = "not-emitted",
  /** Created, renamed or transferred on or after 2026-07-15: GitHub's default for it. */
  NEW_SINCE_2026_07_15 = "new-since-2026-07-15",
  /** An older repository opted in with `use_immutable_subject: true` (see the README for the command). */
  OPTED_IN = "opted-in",
}

/** Claims a customized subject can carry (`include_claim_keys`). */
export enum GithubClaimKey {
  /** `repo:OWNER/REPO` */
  REPO = "repo",
  /** `environment:ENV` for a job with an environment */
  CONTEXT = "context",
  REPOSITORY_OWNER = "repository_owner",
  REPOSITORY_OWNER_ID = "repository_owner_id",
  REPOSITORY = "repository",
  REPOSITORY_ID = "repository_id",
  ENVIRONMENT = "environment",
  JOB_WORKFLOW_REF = "job_workflow_ref",
}

/** The claim template to set on the repository (GitHub API `actions/oidc/customization/sub`). */
export interface GithubClaimTemplate {
  readonly useDefault: boolean;
  readonly includeClaimKeys: readonly string[];
}

export interface GithubOidcSubjectProps {
  /** The repository whose jobs assume the role; its numeric ids are required. */
  readonly repository: RepositoryRef;
  /** The GitHub environment the deployment job runs in (and the cloud environment it deploys to). */
  readonly environment: Environment;
  /** Which `sub` shape the repository emits. Say it explicitly: a wrong guess breaks the trust. */
  readonly format: GithubSubjectFormat;
  /**
   * Whether GitHub emits immutable subjects for the repository, and why. IMMUTABLE needs one of
   * the emitting values; on such a repository a CUSTOM template's `repo` claim key renders as
   * `OWNER@OWNER_ID/REPO@REPO_ID` too.
   * @default ImmutableSubjects.NOT_EMITTED
   */
  readonly immutableSubjects?: ImmutableSubjects;
  /**
   * For CUSTOM: the claims, in order.
   * @default [REPOSITORY_OWNER_ID, REPOSITORY_ID, CONTEXT, JOB_WORKFLOW_REF] (JOB_WORKFLOW_REF only with an exact workflow tag)
   */
  readonly claimKeys?: readonly GithubClaimKey[];
  /**
   * The reusable workflow the job must run (in the compliance repository, pinned to a tag).
   * Required for production.
   * @default - none (only for non-production tiers)
   */
  readonly workflow?: WorkflowRef;
  /**
   * True when the compliance repository's tag ruleset makes the workflow's release tags
   * immutable and restricts who creates them. Required for a `v*` tag pattern.
   * @default false
   */
  readonly workflowTagsProtected?: boolean;
}

/** A claim a trust pins, with the operator the value needs. */
export interface PinnedClaim {
  readonly claim: string;
  readonly value: string;
  readonly operator: "StringEquals" | "StringLike";
}

export class GithubOidcSubject {
  /** GitHub's issuer. */
  public static readonly ISSUER = "https://token.actions.githubusercontent.com";
  public static readonly ISSUER_HOST = "token.actions.githubusercontent.com";

  public readonly repository: RepositoryRef;
  public readonly environment: Environment;
  public readonly format: GithubSubjectFormat;
  /** Whether (and why) the repository emits immutable subjects. */
  public readonly immutableSubjects: ImmutableSubjects;
  public readonly workflow?: WorkflowRef;
  /** The exact `sub` GitHub emits for the environment's deployment job. */
  public readonly subject: string;
  /** What to configure on the repository so that it emits `subject`. */
  public readonly claimTemplate: GithubClaimTemplate;
  /** Every claim the trust pins, `sub` included. */
  public readonly pinnedClaims: readonly PinnedClaim[];

  constructor(props: GithubOidcSubjectProps) {
    const repo = props.repository;
    const where = `GithubOidcSubject ${repo?.fullName}:${props.environment?.name}`;
    if (repo.repositoryId === undefined || repo.ownerId === undefined) {
      throw new HipaaConfigError({
        path: where,
        problem: "the repository's numeric ids are not given, so the trust would pin only names, which can be renamed or re-registered",
        cfr: "164.312(d)",
        fix: `pass ownerId and repositoryId (gh api repos/${repo.fullName} --jq '.owner.id, .id')`,
      });
    }
    if (!Object.values(GithubSubjectFormat).includes(props.format)) {
      throw new HipaaConfigError({ path: where, problem: `format ${JSON.stringify(props.format)} is not classic, immutable or custom`, fix: "say which subject format the repository emits" });
    }
    const immutable = props.immutableSubjects ?? ImmutableSubjects.NOT_EMITTED;
    validateImmutableSubjects(where, props.format, immutable);
    const workflow = props.workflow;
    if (props.environment.isProduction && !workflow) {
      throw new HipaaConfigError({
        path: where,
        problem: "production trust does not pin the reusable workflow, so any workflow in the repository could deploy",
        cfr: "164.312(c)(1)",
        fix: "pass workflow: the compliance repository's deploy workflow pinned to a release tag",
      });
    }
    if (workflow?.isTagPattern && !props.workflowTagsProtected) {
      throw new HipaaConfigError({
        path: where,
        problem: `workflow tag pattern ${JSON.stringify(workflow.tag)} is trusted, but its tags are not declared protected`,
        cfr: "164.312(c)(1)",
        fix: "protect the compliance repository's release tags with a ruleset (no update, no deletion, restricted creation) and set workflowTagsProtected: true, or pin an exact tag",
      });
    }
    this.repository = repo;
    this.environment = props.environment;
    this.format = props.format;
    this.immutableSubjects = immutable;
    this.workflow = workflow;

    const context = `environment:${props.environment.name}`;
    // On a repository that emits immutable subjects GitHub writes the `repo` value with both ids,
    // in the default subject and in a custom template's `repo` claim key alike.
    const repoClaim = immutable === ImmutableSubjects.NOT_EMITTED ? repo.fullName : `${repo.owner}@${repo.ownerId}/${repo.name}@${repo.repositoryId}`;
    switch (props.format) {
      case GithubSubjectFormat.CLASSIC:
        this.subject = `repo:${repo.fullName}:${context}`;
        this.claimTemplate = { useDefault: true, includeClaimKeys: [] };
        break;
      case GithubSubjectFormat.IMMUTABLE:
        this.subject = `repo:${repoClaim}:${context}`;
        this.claimTemplate = { useDefault: true, includeClaimKeys: [] };
        break;
      default: {
        const keys = props.claimKeys ?? defaultClaimKeys(workflow);
        this.validateClaimKeys(where, keys, workflow);
        const values: Record<GithubClaimKey, string> = {
          [GithubClaimKey.REPO]: repoClaim,
          [GithubClaimKey.CONTEXT]: context,
          [GithubClaimKey.REPOSITORY_OWNER]: repo.owner,
          [GithubClaimKey.REPOSITORY_OWNER_ID]: String(repo.ownerId),
          [GithubClaimKey.REPOSITORY]: repo.fullName,
          [GithubClaimKey.REPOSITORY_ID]: String(repo.repositoryId),
          [GithubClaimKey.ENVIRONMENT]: props.environment.name,
          [GithubClaimKey.JOB_WORKFLOW_REF]: workflow?.jobWorkflowRef ?? "",
        };
        // GitHub renders each included claim as `key:value`, except `context`, whose value
        // already carries its own key (`environment:ENV`), joined with ':'.
        this.subject = keys.map((k) => (k === GithubClaimKey.CONTEXT ? values[k] : `${k}:${values[k]}`)).join(":");
        this.claimTemplate = { useDefault: false, includeClaimKeys: [...keys] };
      }
    }

    const pinned: PinnedClaim[] = [
      { claim: "sub", value: this.subject, operator: "StringEquals" },
      { claim: "repository_id", value: String(repo.repositoryId), operator: "StringEquals" },
      { claim: "repository_owner_id", value: String(repo.ownerId), operator: "StringEquals" },
      { claim: "environment", value: props.environment.name, operator: "StringEquals" },
    ];
    if (workflow) {
      pinned.push({ claim: "job_workflow_ref", value: workflow.jobWorkflowRef, operator: workflow.isTagPattern ? "StringLike" : "StringEquals" });
    }
    this.pinnedClaims = pinned;
  }

  private validateClaimKeys(where: string, keys: readonly GithubClaimKey[], workflow: WorkflowRef | undefined): void {
    const known = Object.values(GithubClaimKey);
    const unknown = keys.filter((k) => !known.includes(k));
    if (unknown.length > 0 || new Set(keys).size !== keys.length) {
      throw new HipaaConfigError({ path: where, problem: `claim keys ${JSON.stringify(keys)} are unknown or repeated`, fix: `use each of ${known.join(", ")} at most once` });
    }
    const pinsRepository = keys.some((k) => [GithubClaimKey.REPO, GithubClaimKey.REPOSITORY_ID, GithubClaimKey.REPOSITORY].includes(k));
    const pinsEnvironment = keys.some((k) => [GithubClaimKey.CONTEXT, GithubClaimKey.ENVIRONMENT].includes(k));
    if (!pinsRepository || !pinsEnvironment) {
      throw new HipaaConfigError({
        path: where,
        problem: `a subject of ${JSON.stringify(keys)} does not name both the repository and the environment`,
        cfr: "164.312(d)",
        fix: "include repository_id (or repo) and context (or environment) in the claim keys",
      });
    }
    if (keys.includes(GithubClaimKey.JOB_WORKFLOW_REF)) {
      if (!workflow) {
        throw new HipaaConfigError({ path: where, problem: "claim key job_workflow_ref is included but no workflow is pinned", fix: "pass workflow, or drop job_workflow_ref from the claim keys" });
      }
      if (workflow.isTagPattern) {
        throw new HipaaConfigError({
          path: where,
          problem: `job_workflow_ref in the subject would need the tag pattern ${JSON.stringify(workflow.tag)} inside sub, which must match exactly`,
          cfr: "164.312(d)",
          fix: "drop job_workflow_ref from the claim keys (the trust pins it as its own claim), or pin an exact tag",
        });
      }
    }
  }
}

/**
 * Refuses a subject format the repository cannot emit: IMMUTABLE on a repository that does not
 * emit immutable subjects, CLASSIC on one that does.
 */
export function validateImmutableSubjects(where: string, format: GithubSubjectFormat, immutable: ImmutableSubjects): void {
  if (!Object.values(ImmutableSubjects).includes(immutable)) {
    throw new HipaaConfigError({ path: where, problem: `immutableSubjects ${JSON.stringify(immutable)} is not one of ${Object.values(ImmutableSubjects).join(", ")}`, fix: "say whether the repository emits immutable subjects, and why" });
  }
  const emits = immutable !== ImmutableSubjects.NOT_EMITTED;
  if (format === GithubSubjectFormat.IMMUTABLE && !emits) {
    throw new HipaaConfigError({
      path: where,
      problem: "the IMMUTABLE subject format is trusted, but the repository is not said to emit immutable subjects: GitHub sends them only for repositories created, renamed or transferred on or after 2026-07-15, or opted in through the REST API, and the claim template Terraform sets (use_default) cannot turn them on, so no token would match",
      cfr: "164.312(d)",
      fix: "set immutableSubjects to NEW_SINCE_2026_07_15 or, after opting in (gh api -X PUT repos/OWNER/REPO/actions/oidc/customization/sub -F use_default=true -F use_immutable_subject=true), OPTED_IN; or use the CLASSIC format",
    });
  }
  if (format === GithubSubjectFormat.CLASSIC && emits) {
    throw new HipaaConfigError({
      path: where,
      problem: `the CLASSIC subject format is trusted, but the repository emits immutable subjects (${immutable}), so GitHub's default template sends repo:OWNER@ID/REPO@ID and no token would match`,
      cfr: "164.312(d)",
      fix: "use GithubSubjectFormat.IMMUTABLE for this repository",
    });
  }
}

function defaultClaimKeys(workflow: WorkflowRef | undefined): GithubClaimKey[] {
  const keys = [GithubClaimKey.REPOSITORY_OWNER_ID, GithubClaimKey.REPOSITORY_ID, GithubClaimKey.CONTEXT];
  if (workflow && !workflow.isTagPattern) keys.push(GithubClaimKey.JOB_WORKFLOW_REF);
  return keys;
}
