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
