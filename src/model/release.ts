import { HipaaConfigError } from "../errors";

// `vMAJOR.MINOR.PATCH`, optionally `-PRERELEASE` (semver's identifiers): one exact git tag, no
// wildcard, no `/` (so the compliance repository's `refs/tags/v*` ruleset, which matches with
// FNM_PATHNAME, covers it), no build metadata.
const RELEASE_TAG = /^v(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:-[0-9A-Za-z]+(?:[.-][0-9A-Za-z]+)*)?$/;

/**
 * The one release of the compliance workflows that deploys may run: an exact tag such as
 * `v1.4.2`. Every place that names a compliance workflow (the runner groups' `selected_workflows`,
 * the AWS trusts' `job_workflow_ref`, the GCP WIF conditions) builds its `WorkflowRef` from this one
 * value, so they always name the same release, and moving to a new release is one reviewed change
 * of one line.
 *
 * Exact, because GitHub matches a runner group's `selected_workflows` entries exactly (a `v*`
 * entry admits no run at all), and because a trust of one tag cannot be satisfied by a tag
 * somebody creates later.
 */
/** True for one exact release tag, `vMAJOR.MINOR.PATCH[-PRERELEASE]` (what `ApprovedRelease` accepts). */
export function isReleaseTag(tag: string): boolean {
  return typeof tag === "string" && RELEASE_TAG.test(tag);
}

export class ApprovedRelease {
  /** Parses `vMAJOR.MINOR.PATCH[-PRERELEASE]`; `where` names what is being configured, for the error. */
  public static parse(tag: string, where = "ApprovedRelease"): ApprovedRelease {
    return new ApprovedRelease(tag, where);
  }

  /** The tag, e.g. `v1.4.2`. */
  public readonly tag: string;

  private constructor(tag: string, where: string) {
    if (typeof tag !== "string" || !RELEASE_TAG.test(tag)) {
      const wildcard = typeof tag === "string" && /[*?\[\]]/.test(tag);
      throw new HipaaConfigError({
        path: where,
        problem: `approved release ${JSON.stringify(tag)} is not one exact release tag${wildcard ? " (it contains a wildcard, and GitHub matches a runner group's selected workflows exactly, so no run would ever be admitted)" : ""}`,
        cfr: "164.312(c)(1)",
        fix: "name the reviewed release of the compliance workflows exactly, e.g. approvedRelease: \"v1.4.2\" (vMAJOR.MINOR.PATCH, optionally -PRERELEASE); bump it in a reviewed change when a new release is approved",
      });
    }
    this.tag = tag;
  }

  /** `refs/tags/<tag>`: the ref `job_workflow_ref` and `selected_workflows` end with. */
  public get ref(): string {
    return `refs/tags/${this.tag}`;
  }

  public toString(): string {
    return this.tag;
  }
}

/** GitHub Actions' own app (`gh api apps/github-actions --jq .id`): the identity of every `GITHUB_TOKEN`. */
export const GITHUB_ACTIONS_APP_ID = 15368;

/**
 * Who creates the compliance workflows' release tags: a GitHub App installed on the compliance
 * repository, the only bypass actor of the ruleset that restricts tag creation. No person, team,
 * repository role or organization-admin bypass: one member of a bypassing team could tag an
 * unreviewed commit on any branch, and the trusts would accept it.
 *
 * A ruleset cannot require the tagged commit to be on the default branch, so the App's private
 * key must be usable only by the release workflow running on the default branch (an environment
 * secret of an environment that deploys from the default branch only), and that workflow must
 * tag the commit it runs on.
 */
export interface ReleaseAutomation {
  /** Only a GitHub App can be named: its key can be confined to the default branch's release workflow. */
  readonly type: "github-app";
  /** The App's id (`gh api apps/SLUG --jq .id`), the ruleset bypass actor id of an `Integration`. */
  readonly appId: number;
  /** The App's slug, for the control map (`gh api apps/SLUG --jq .slug`). */
  readonly slug: string;
}

/** Refuses a missing or careless release automation actor. */
export function validateReleaseAutomation(path: string, automation: ReleaseAutomation | undefined): ReleaseAutomation {
  const fix =
    'create a GitHub App with contents: write on the compliance repository only, keep its private key in a "release" environment that deploys from the default branch only, and pass releaseAutomation: { type: "github-app", appId, slug } (gh api apps/SLUG --jq \'.id, .slug\')';
  if (automation === undefined || automation === null) {
    throw new HipaaConfigError({
      path,
      problem: "no release automation is named, so either nobody can create a release tag or a human bypass would have to be added by hand",
      cfr: "164.312(c)(1)",
      fix,
    });
  }
  if (automation.type !== "github-app") {
    throw new HipaaConfigError({ path, problem: `release automation type ${JSON.stringify(automation.type)} is not "github-app"`, cfr: "164.312(c)(1)", fix });
  }
  if (!Number.isSafeInteger(automation.appId) || automation.appId <= 0) {
    throw new HipaaConfigError({ path, problem: `release automation appId ${automation.appId} is not a positive integer`, fix });
  }
  if (automation.appId === GITHUB_ACTIONS_APP_ID) {
    throw new HipaaConfigError({
      path,
      problem: `release automation appId ${GITHUB_ACTIONS_APP_ID} is GitHub Actions itself: every workflow run holds its GITHUB_TOKEN, including runs of a workflow anyone with write access pushes on an unreviewed branch, so that person could create a release tag`,
      cfr: "164.312(c)(1)",
      fix,
    });
  }
  if (typeof automation.slug !== "string" || !/^[a-z0-9][a-z0-9-]{0,33}$/.test(automation.slug)) {
    throw new HipaaConfigError({ path, problem: `release automation slug ${JSON.stringify(automation.slug)} is not a GitHub App slug`, fix });
  }
  return automation;
}
