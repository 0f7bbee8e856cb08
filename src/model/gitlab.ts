import { HipaaConfigError } from "../errors";
import { Environment } from "./environment";

const PATH_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/;
const REF = /^[A-Za-z0-9._\/-]{1,255}$/;

/** A GitLab project, `group[/subgroup...]/project`. */
export class GitlabProjectRef {
  public readonly path: string;
  /**
   * The project's numeric id (Settings > General, or `glab api projects/GROUP%2FPROJECT | jq .id`).
   * A path can be renamed and re-registered by someone else; the id cannot. Required by trusts
   * that pin it (the Workload Identity condition).
   */
  public readonly projectId?: number;

  constructor(path: string, options: { readonly projectId?: number } = {}) {
    const where = `GitlabProjectRef ${JSON.stringify(path)}`;
    if (/[*?\[\]]/.test(path)) {
      throw new HipaaConfigError({ path: where, problem: `project path ${JSON.stringify(path)} contains a wildcard`, cfr: "164.308(a)(4)", fix: "name exactly one project, e.g. hipaa-health/compliance-platform" });
    }
    const segments = path.split("/");
    if (segments.length < 2 || !segments.every((s) => PATH_SEGMENT.test(s) && !s.endsWith(".git") && !s.endsWith(".atom"))) {
      throw new HipaaConfigError({ path: where, problem: `${JSON.stringify(path)} is not a GitLab project path`, fix: "write GROUP/PROJECT (subgroups allowed), e.g. hipaa-health/compliance-platform" });
    }
    if (options.projectId !== undefined && !(Number.isInteger(options.projectId) && options.projectId > 0)) {
      throw new HipaaConfigError({ path: where, problem: `projectId ${JSON.stringify(options.projectId)} is not a positive integer`, fix: "pass the project's numeric id" });
    }
    this.path = path;
    this.projectId = options.projectId;
  }

  public toString(): string {
    return this.path;
  }
}

/** GitLab ref types as they appear in the ID token's `ref_type`. */
export enum GitlabRefType {
  BRANCH = "branch",
  TAG = "tag",
}

export interface GitlabOidcSubjectProps {
  readonly project: GitlabProjectRef;
  readonly environment: Environment;
  readonly refType: GitlabRefType;
  /**
   * The branch or tag. A tag may end in one `*` version wildcard (`v*`) when `refProtected`.
   */
  readonly ref: string;
  /** Whether the ref is protected in the project (protected tags / protected branch). */
  readonly refProtected: boolean;
  /** The project's default branch; production may deploy from it (protected) or from protected tags. */
  readonly defaultBranch?: string;
}

/**
 * The GitLab CI ID-token subject a cloud trust pins:
 * `project_path:GROUP/PROJECT:ref_type:branch|tag:ref:REF`.
 */
export class GitlabOidcSubject {
  public readonly project: GitlabProjectRef;
  public readonly environment: Environment;
  public readonly refType: GitlabRefType;
  public readonly ref: string;
  public readonly refProtected: boolean;
  /** The exact `sub`, or the pattern when the ref is a protected tag pattern. */
  public readonly subject: string;
  /** True when `subject` ends in a version wildcard and must be matched with StringLike. */
  public readonly isPattern: boolean;

  constructor(props: GitlabOidcSubjectProps) {
    const where = `GitlabOidcSubject ${props.project?.path}@${props.ref} (${props.environment?.name})`;
    const isPattern = props.ref.endsWith("*");
    const literal = isPattern ? props.ref.slice(0, -1) : props.ref;
    if (!REF.test(literal) || literal.includes("..") || /[*?]/.test(literal)) {
      throw new HipaaConfigError({
        path: where,
        problem: `ref ${JSON.stringify(props.ref)} is not a branch or tag name${/[*?]/.test(literal) ? " (only one trailing version wildcard is accepted)" : ""}`,
        cfr: "164.312(d)",
        fix: "name one branch or tag, or a protected tag pattern such as v*",
      });
    }
    if (isPattern && (props.refType !== GitlabRefType.TAG || !props.refProtected)) {
      throw new HipaaConfigError({
        path: where,
        problem: `ref pattern ${JSON.stringify(props.ref)} is only accepted for protected tags`,
        cfr: "164.312(d)",
        fix: "protect the tags (Settings > Repository > Protected tags) and set refProtected: true, or pin one exact ref",
      });
    }
    if (props.environment.isProduction) {
      const fromDefaultBranch = props.refType === GitlabRefType.BRANCH && props.defaultBranch !== undefined && props.ref === props.defaultBranch;
      const fromTag = props.refType === GitlabRefType.TAG;
      if (!props.refProtected || !(fromDefaultBranch || fromTag)) {
        throw new HipaaConfigError({
          path: where,
          problem: `production trusts ${props.refType} ${JSON.stringify(props.ref)}, which is not a protected tag or the protected default branch`,
          cfr: "164.312(d)",
          fix: "deploy production only from protected tags (ref_type tag) or the protected default branch",
        });
      }
    }
    this.project = props.project;
    this.environment = props.environment;
    this.refType = props.refType;
    this.ref = props.ref;
    this.refProtected = props.refProtected;
    this.isPattern = isPattern;
    this.subject = `project_path:${props.project.path}:ref_type:${props.refType}:ref:${props.ref}`;
  }
}

/**
 * True when one token could satisfy both subjects: same project and ref type, and refs that
 * overlap (equal, or a protected pattern `v*` that covers the other's ref or pattern). AWS STS
 * has no GitLab environment key, so two AWS trusts of different environments whose refs overlap
 * accept the same token: a tag pipeline's token would open both validation and production.
 */
export function gitlabRefsOverlap(a: GitlabOidcSubject, b: GitlabOidcSubject): boolean {
  if (a.project.path !== b.project.path || a.refType !== b.refType) return false;
  const prefix = (s: GitlabOidcSubject) => (s.isPattern ? s.ref.slice(0, -1) : s.ref);
  if (!a.isPattern && !b.isPattern) return a.ref === b.ref;
  if (a.isPattern && b.isPattern) return prefix(a).startsWith(prefix(b)) || prefix(b).startsWith(prefix(a));
  const [pattern, literal] = a.isPattern ? [a, b] : [b, a];
  return literal.ref.startsWith(prefix(pattern));
}
