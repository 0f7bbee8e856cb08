import { Construct } from "constructs";
import { TerraformStack } from "cdktf";
import { GitlabProvider } from "@cdktf/provider-gitlab/lib/provider";
import { HipaaConfigError } from "../src/errors";
import { Environment, EnvironmentTier, GitlabOidcSubject, GitlabProjectRef, GitlabRefType, validateEnvironments } from "../src/model";
import { GitlabGroupRef } from "../constructs/gitlab/gitlab-group";
import { GitlabProjectProtections } from "../constructs/gitlab/gitlab-project-protections";
import { GitlabProtectedEnvironment, inviteGroups } from "../constructs/gitlab/gitlab-protected-environment";
import { GitlabProtectedRunner } from "../constructs/gitlab/gitlab-protected-runner";

/** Who approves and who runs deploys to one environment. */
export interface GitlabEnvironmentApprovals {
  readonly approverGroup: GitlabGroupRef;
  /** @default 2 for production, 1 otherwise */
  readonly requiredApprovals?: number;
  /** @default the approver group */
  readonly deployerGroup?: GitlabGroupRef;
}

/** A ref an environment deploys from. */
export interface GitlabDeployRef {
  readonly refType: GitlabRefType;
  /** A branch, or a tag / tag pattern (`v*`). */
  readonly ref: string;
}

/** One GitLab project under governance. */
export interface GitlabGovernedProject {
  readonly project: GitlabProjectRef;
  /** Its numeric id (`gitlab api projects/<url-encoded path> | jq .id`). */
  readonly projectId: number;
  /** @default "main" */
  readonly defaultBranch?: string;
  /** @default "v*" */
  readonly releaseTagPattern?: string;
  /** Who merges to the default branch and creates release tags. */
  readonly maintainerGroup: GitlabGroupRef;
  /** @default maintainerGroup */
  readonly reviewerGroup?: GitlabGroupRef;
  /** @default 2 */
  readonly mergeRequestApprovals?: number;
  /** Environments whose deploy jobs run in this project's pipelines (the parent). @default - none (a child project) */
  readonly deploysTo?: readonly string[];
  /**
   * The ref each environment deploys from; each must be a ref these protections protect.
   * @default the release tags for production and validation, the default branch for other tiers
   */
  readonly deployRefs?: Readonly<Record<string, GitlabDeployRef>>;
  /** Other branches to protect (e.g. a lower tier's deploy branch). @default - none */
  readonly extraProtectedBranches?: readonly string[];
  /** Projects whose CI job tokens may reach this one (the parent's id, for a child). @default - none */
  readonly jobTokenAllowList?: readonly number[];
  /** @default false; refused when the project deploys to a PHI environment */
  readonly allowAuthorApproval?: boolean;
  /** @default - none */
  readonly authorApprovalReason?: string;
}

export interface GitlabGovernanceConfig {
  readonly environments: readonly Environment[];
  /** Approvals by environment name; every environment a project deploys to needs an entry. */
  readonly approvals: Readonly<Record<string, GitlabEnvironmentApprovals>>;
  readonly projects: readonly GitlabGovernedProject[];
  /** @default the provider's default (GitLab.com) */
  readonly baseUrl?: string;
  /**
   * Environments whose runner may take jobs from unprotected refs, with the reason (refused for
   * PHI environments).
   * @default - none: every runner runs protected refs only
   */
  readonly unprotectedRunners?: Readonly<Record<string, string>>;
}

/**
 * GitLab governance in its own stack and state, from one typed configuration: for every project,
 * the repository protections ({@link GitlabProjectProtections}); for every project and
 * environment it deploys to, a protected environment with group approvals
 * ({@link GitlabProtectedEnvironment}) and a protected runner tagged `hipaa-<env>-runner`
 * ({@link GitlabProtectedRunner}).
 *
 * The refs a cloud may trust come from here: {@link subjectsFor} builds each environment's
 * `GitlabOidcSubject`s from the same deploy refs, and a deploy ref that the protections do not
 * cover is refused, so a WIF condition or an IAM trust can only name a protected ref.
 */
export class GitlabGovernanceStack extends TerraformStack {
  public readonly protections: ReadonlyMap<string, GitlabProjectProtections>;
  public readonly protectedEnvironments: readonly GitlabProtectedEnvironment[];
  public readonly runners: readonly GitlabProtectedRunner[];
  /** Approver group paths by environment name (the deploy gate's authorized approvers). */
  public readonly approverGroups: ReadonlyMap<string, readonly string[]>;
  private readonly subjects = new Map<string, GitlabOidcSubject[]>();

  constructor(scope: Construct, id: string, config: GitlabGovernanceConfig) {
    super(scope, id);
    const path = this.node.path;
    const environments = validateEnvironments(config.environments, `${path}/environments`);
    const envByName = new Map(environments.map((e) => [e.name, e]));
    new GitlabProvider(this, "gitlab", { baseUrl: config.baseUrl });

    const protections = new Map<string, GitlabProjectProtections>();
    const protectedEnvironments: GitlabProtectedEnvironment[] = [];
    const runners: GitlabProtectedRunner[] = [];
    const approverGroups = new Map<string, string[]>();
    for (const governed of config.projects) {
      const projectPath = governed.project.path;
      const where = `${path}/projects/${projectPath}`;
      if (protections.has(projectPath)) {
        throw new HipaaConfigError({ path: where, problem: `project ${projectPath} is listed twice`, fix: "list each project once, with every environment it deploys to" });
      }
      if (!Number.isInteger(governed.projectId) || governed.projectId <= 0) {
        throw new HipaaConfigError({ path: where, problem: `projectId ${JSON.stringify(governed.projectId)} is not a numeric project id`, fix: "pass the project's numeric id" });
      }
      const deploysTo = (governed.deploysTo ?? []).map((name) => {
        const env = envByName.get(name);
        if (!env) throw new HipaaConfigError({ path: where, problem: `deploysTo names unknown environment "${name}"`, fix: `use one of ${[...envByName.keys()].join(", ")}` });
        return env;
      });
      const scopeId = projectPath.replace(/[^A-Za-z0-9]+/g, "-");
      const protection = new GitlabProjectProtections(this, `Protections-${scopeId}`, {
        project: governed.project,
        projectId: governed.projectId,
        defaultBranch: governed.defaultBranch,
        releaseTagPattern: governed.releaseTagPattern,
        maintainerGroup: governed.maintainerGroup,
        reviewerGroup: governed.reviewerGroup,
        mergeRequestApprovals: governed.mergeRequestApprovals,
        extraProtectedBranches: governed.extraProtectedBranches,
        jobTokenAllowList: governed.jobTokenAllowList,
        allowAuthorApproval: governed.allowAuthorApproval,
        authorApprovalReason: governed.authorApprovalReason,
        handlesPhi: deploysTo.some((e) => e.handlesPhi),
      });
      protections.set(projectPath, protection);

      const approvalsOf = (env: string): GitlabEnvironmentApprovals => {
        const approvals = config.approvals[env];
        if (!approvals) {
          throw new HipaaConfigError({ path: `${path}/approvals`, problem: `no approvers are given for environment "${env}", which ${projectPath} deploys to`, cfr: "164.308(a)(4)", fix: `add approvals: { ${env}: { approverGroup: { id, path } } }` });
        }
        return approvals;
      };
      // One invitation per project and group, however many environments the group approves.
      const invitations = deploysTo.length === 0 ? [] : inviteGroups(protection, governed.project, deploysTo.flatMap((e) => [approvalsOf(e.name).approverGroup, approvalsOf(e.name).deployerGroup ?? approvalsOf(e.name).approverGroup]));
      for (const environment of deploysTo) {
        const env = environment.name;
        const approvals = approvalsOf(env);
        const deployRef = governed.deployRefs?.[env] ?? defaultDeployRef(environment, protection);
        if (!protection.protects(deployRef.refType, deployRef.ref)) {
          throw new HipaaConfigError({
            path: `${where}/deployRefs/${env}`,
            problem: `${env} would trust ${deployRef.refType} ${JSON.stringify(deployRef.ref)} of ${projectPath}, which is not protected (protected: ${protection.protectedRefs.map((r) => `${r.refType} ${r.pattern}`).join(", ")})`,
            cfr: "164.312(d)",
            fix: "deploy from the default branch or the release tags, or add the branch to extraProtectedBranches",
          });
        }
        this.subjects.set(env, [
          ...(this.subjects.get(env) ?? []),
          new GitlabOidcSubject({ project: governed.project, environment, refType: deployRef.refType, ref: deployRef.ref, refProtected: true, defaultBranch: protection.defaultBranch }),
        ]);
        protectedEnvironments.push(
          new GitlabProtectedEnvironment(this, `Environment-${scopeId}-${env}`, {
            project: governed.project,
            environment,
            approverGroup: approvals.approverGroup,
            requiredApprovals: approvals.requiredApprovals,
            deployerGroup: approvals.deployerGroup,
            groupInvitations: invitations.filter((i) => [approvals.approverGroup.id, (approvals.deployerGroup ?? approvals.approverGroup).id].includes(i.groupIdInput!)),
          }),
        );
        runners.push(
          new GitlabProtectedRunner(this, `Runner-${scopeId}-${env}`, {
            environment,
            projectId: governed.projectId,
            refProtected: config.unprotectedRunners?.[env] === undefined,
            unprotectedReason: config.unprotectedRunners?.[env],
          }),
        );
        approverGroups.set(env, [...new Set([...(approverGroups.get(env) ?? []), approvals.approverGroup.path])]);
      }
    }
    this.protections = protections;
    this.protectedEnvironments = protectedEnvironments;
    this.runners = runners;
    this.approverGroups = approverGroups;
  }

  /** The subjects a cloud trust for `environment` may accept: exactly the protected deploy refs. */
  public subjectsFor(environment: string): readonly GitlabOidcSubject[] {
    return this.subjects.get(environment) ?? [];
  }
}

/** Seeds: production and validation deploy from protected release tags, lower tiers from the protected default branch. */
function defaultDeployRef(environment: Environment, protection: GitlabProjectProtections): GitlabDeployRef {
  const fromTags = environment.isProduction || environment.tier === EnvironmentTier.VALIDATION;
  const tag = protection.protectedRefs.find((r) => r.refType === GitlabRefType.TAG)!;
  return fromTags ? { refType: GitlabRefType.TAG, ref: tag.pattern } : { refType: GitlabRefType.BRANCH, ref: protection.defaultBranch };
}
