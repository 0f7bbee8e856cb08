import { HipaaConfigError } from "../errors";
import { ApprovedRelease, isReleaseTag } from "./release";

const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const REPO = /^[A-Za-z0-9._-]{1,100}$/;
const WORKFLOW_PATH = /^\.github\/workflows\/[A-Za-z0-9._\/-]+\.ya?ml$/;
// A version tag pattern: `v*`, `v2.*` or `v2.4.*`; no `/`, no other prefix. A tag named like a
// branch (`main`) or any other free-form name is refused: nothing says it is a reviewed release.
const TAG_PATTERN = /^v(?:(?:0|[1-9]\d{0,8})\.){0,2}\*$/;

/**
 * Refuses a GitHub organization (or user) name GitHub would not accept: 1-39 letters, digits or
 * single hyphens, not starting or ending with a hyphen. Checked at synth, so a typo fails here
 * rather than as a provider error halfway through the first apply.
 */
export function validateGithubOrganization(path: string, organization: string): void {
  if (typeof organization !== "string" || !OWNER.test(organization)) {
    throw new HipaaConfigError({
      path,
      problem: `GitHub organization ${JSON.stringify(organization)} is not a valid organization name`,
      fix: "use the organization's login: 1-39 letters, digits or single hyphens, not starting or ending with a hyphen (gh api orgs/ORG --jq .login)",
    });
  }
}

function refuseWildcard(path: string, what: string, value: string): void {
  if (/[*?\[\]]/.test(value)) {
    throw new HipaaConfigError({
      path,
      problem: `${what} ${JSON.stringify(value)} contains a wildcard`,
      cfr: "164.308(a)(4)",
      fix: `name exactly one ${what}; a wildcard widens who can obtain the pipeline's credentials`,
    });
  }
}

export interface RepositoryRefProps {
  /** The GitHub organization or user that owns the repository. */
  readonly owner: string;
  /** The repository name, without the owner. */
  readonly name: string;
  /**
   * The owner's numeric id. Names can be renamed and re-registered by someone else; ids cannot,
   * so trusts pin ids where the identity provider offers them.
   * @default - unknown; constructs that pin ids will ask for it
   */
  readonly ownerId?: number;
  /**
   * The repository's numeric id (`repository_id` claim).
   * @default - unknown; constructs that pin ids will ask for it
   */
  readonly repositoryId?: number;
}

/** A reference to one source repository, `owner/name`, validated when built. */
export class RepositoryRef {
  /** Parses `owner/repo`. */
  public static parse(fullName: string, ids: { ownerId?: number; repositoryId?: number } = {}): RepositoryRef {
    const parts = typeof fullName === "string" ? fullName.split("/") : [];
    if (parts.length !== 2) {
      refuseWildcard(`RepositoryRef ${JSON.stringify(fullName)}`, "repository", String(fullName));
      throw new HipaaConfigError({
        path: `RepositoryRef ${JSON.stringify(fullName)}`,
        problem: `${JSON.stringify(fullName)} is not of the form owner/repo`,
        fix: "write the repository as OWNER/REPO, e.g. hipaa-app-org/clinical-platform",
      });
    }
    return new RepositoryRef({ owner: parts[0], name: parts[1], ...ids });
  }

  public readonly owner: string;
  public readonly name: string;
  public readonly ownerId?: number;
  public readonly repositoryId?: number;

  constructor(props: RepositoryRefProps) {
    const where = `RepositoryRef "${props.owner}/${props.name}"`;
    refuseWildcard(where, "owner", props.owner);
    refuseWildcard(where, "repository", props.name);
    if (!OWNER.test(props.owner)) {
      throw new HipaaConfigError({
        path: where,
        problem: `owner ${JSON.stringify(props.owner)} is not a valid GitHub account name`,
        fix: "use 1-39 letters, digits or single hyphens, not starting or ending with a hyphen",
      });
    }
    if (!REPO.test(props.name) || props.name === "." || props.name === "..") {
      throw new HipaaConfigError({
        path: where,
        problem: `repository name ${JSON.stringify(props.name)} is not valid`,
        fix: "use 1-100 letters, digits, '.', '_' or '-'",
      });
    }
    for (const [key, id] of [["ownerId", props.ownerId], ["repositoryId", props.repositoryId]] as const) {
      if (id !== undefined && (!Number.isSafeInteger(id) || id <= 0)) {
        throw new HipaaConfigError({
          path: where,
          problem: `${key} ${id} is not a positive integer`,
          fix: `pass the numeric id GitHub reports (gh api repos/${props.owner}/${props.name} --jq .${key === "ownerId" ? "owner.id" : "id"})`,
        });
      }
    }
    this.owner = props.owner;
    this.name = props.name;
    this.ownerId = props.ownerId;
    this.repositoryId = props.repositoryId;
  }

  /** `owner/name`. */
  public get fullName(): string {
    return `${this.owner}/${this.name}`;
  }

  public toString(): string {
    return this.fullName;
  }
}

export interface WorkflowRefProps {
  /** The repository that holds the workflow (for a reusable workflow, the compliance repository). */
  readonly repository: RepositoryRef;
  /** The workflow file, `.github/workflows/NAME.yml`. */
  readonly path: string;
  /**
   * The tag the workflow is pinned to: an exact release tag (`v1.4.2`), or a version pattern
   * (`v*`, `v1.*`, `v1.4.*`) which trusts only accept when the tags are protected (runner groups
   * refuse patterns: GitHub matches their workflows exactly). Free-form names (`main`) are refused.
   * @default - the release's tag; give exactly one of `tag` and `release`
   */
  readonly tag?: string;
  /**
   * The approved release the workflow is pinned to. Build every reference to the compliance
   * workflows from one `ApprovedRelease` so runner groups and trusts name the same release.
   * @default - none; give exactly one of `tag` and `release`
   */
  readonly release?: ApprovedRelease;
}

/** A workflow file pinned to a tag: what `job_workflow_ref` names. */
export class WorkflowRef {
  public readonly repository: RepositoryRef;
  public readonly path: string;
  public readonly tag: string;
  /** True when `tag` ends in a `*` version wildcard. */
  public readonly isTagPattern: boolean;
  /** The approved release this ref pins, when it was built from one. */
  public readonly release?: ApprovedRelease;

  constructor(props: WorkflowRefProps) {
    const where = `WorkflowRef "${props.repository?.fullName}/${props.path}@${props.release?.tag ?? props.tag}"`;
    if ((props.tag === undefined) === (props.release === undefined)) {
      throw new HipaaConfigError({ path: where, problem: "give exactly one of tag and release", fix: "pin the workflow to the approved release (release: ApprovedRelease.parse(\"v1.4.2\")) or to a tag" });
    }
    const tag = props.release?.tag ?? props.tag!;
    refuseWildcard(where, "workflow path", props.path);
    if (!WORKFLOW_PATH.test(props.path) || props.path.includes("..")) {
      throw new HipaaConfigError({
        path: where,
        problem: `workflow path ${JSON.stringify(props.path)} is not a file under .github/workflows/`,
        fix: "name the workflow file, e.g. .github/workflows/deploy-prod.yml",
      });
    }
    const isPattern = tag.endsWith("*");
    if (isPattern ? !TAG_PATTERN.test(tag) : !isReleaseTag(tag)) {
      throw new HipaaConfigError({
        path: where,
        problem: `tag ${JSON.stringify(tag)} is neither an exact tag nor a version pattern (an exact tag is a release, vMAJOR.MINOR.PATCH[-PRERELEASE]; a pattern is v*, v1.* or v1.4.*)`,
        cfr: "164.312(c)(1)",
        fix: "pin the approved release (release: ApprovedRelease.parse(\"v1.4.2\")) or a version pattern such as v* or v1.*; branch-like or free-form tag names (main, latest) are not accepted",
      });
    }
    this.repository = props.repository;
    this.path = props.path;
    this.tag = tag;
    this.release = props.release;
    this.isTagPattern = isPattern;
  }

  /** The `job_workflow_ref` claim value, e.g. `org/compliance-workflows/.github/workflows/deploy.yml@refs/tags/v1.4.2`. */
  public get jobWorkflowRef(): string {
    return `${this.repository.fullName}/${this.path}@refs/tags/${this.tag}`;
  }
}
