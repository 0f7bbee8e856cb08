import { Construct } from "constructs";
import { TerraformStack } from "cdktf";
import { GithubProvider } from "@cdktf/provider-github/lib/provider";
import { HipaaConfigError } from "../src/errors";
import {
  ApprovedRelease,
  BaaRegistry,
  Environment,
  GithubClaimKey,
  GithubOidcSubject,
  GithubPlan,
  GithubSubjectFormat,
  ImmutableSubjects,
  ReleaseAutomation,
  RepositoryRef,
  RepositoryVisibility,
  ScanThresholdsProps,
  validateEnvironments,
  validateGithubOrganization,
  validateImmutableSubjects,
  WorkflowRef,
} from "../src/model";
import { ComplianceWorkflowsRepository, GithubTeamRef } from "../constructs/github/compliance-workflows-repository";
import { ApplicationRepositoryRulesets } from "../constructs/github/application-repository-rulesets";
import { OidcClaimTemplate } from "../constructs/github/oidc-claim-template";
import { ProtectedEnvironment } from "../constructs/github/protected-environment";
import { RunnerGroup } from "../constructs/github/runner-group";
import { assertAccountId, AwsAdmissionOptions, AwsEnvironmentStack, AwsRunnerOptions, AwsStateBackend, evidenceWriterRoleName } from "./aws-environment-stack";
import { AwsArchiveStack, ArchivedEnvironment } from "./aws-archive-stack";
import { ArchivedEvidenceBucket } from "../constructs/aws/archived-evidence-bucket";
import { Cfr, recordException } from "../src/compliance";
import { GcpEnvironmentStack, GcpStateBucket } from "./gcp-environment-stack";
import { GcpArchiveStack, GcpEvidenceArchiveStack } from "./gcp-archive-stack";
import { DeployGate } from "./deploy-gate";
import { GitlabGovernanceConfig, GitlabGovernanceStack } from "./gitlab-governance-stack";

/** One application repository and the environments it deploys to. */
export interface SubstrateRepository {
  /** Repository name within the organization. */
  readonly name: string;
  /** Its numeric id (`gh api repos/ORG/NAME --jq .id`). */
  readonly repositoryId: number;
  /** Names of the environments it deploys to. */
  readonly deploysTo: readonly string[];
  /** The `sub` shape the repository emits. */
  readonly subjectFormat: GithubSubjectFormat;
  /**
   * Whether GitHub emits immutable subjects for this repository, and why: created, renamed or
   * transferred on or after 2026-07-15, or opted in through the REST API (which Terraform cannot
   * do; see the README). IMMUTABLE needs one of those; CLASSIC needs NOT_EMITTED.
   */
  readonly immutableSubjects: ImmutableSubjects;
  /** For CUSTOM subjects. @default GithubOidcSubject's default keys */
  readonly claimKeys?: readonly GithubClaimKey[];
  /** @default RepositoryVisibility.PRIVATE */
  readonly visibility?: RepositoryVisibility;
  /** Branches lower tiers deploy from. @default ["main"] */
  readonly branchPatterns?: readonly string[];
  /**
   * The workload-cluster namespaces this repository deploys to; its deploy roles reach these
   * and no other. Two repositories may not share one.
   * @default [name]
   */
  readonly namespaces?: readonly string[];
}

/** The AWS evidence archive (see AwsArchiveStack and the README's account layout). */
export interface SubstrateAwsArchive {
  /** The archive account (12 digits), distinct from every environment's. */
  readonly accountId: string;
  /**
   * The break-glass role, in the archive account, that alone may destroy, disable or re-policy
   * the archive's keys, or end a log trail. Its use is alerted. A role of the same path and name
   * must exist in every environment account: it alone may do the same to that account's signing
   * and alert keys (KMS lets no other account's principal administer a key).
   */
  readonly breakGlassRoleArn: string;
  /** Remote state of the archive stack. @default - local state */
  readonly stateBackend?: AwsStateBackend;
  /**
   * Environments whose stacks were applied before the archive existed: their evidence bucket and
   * key stay where they are (same addresses, read-only from now on) instead of being dropped from
   * the configuration, which would make Terraform schedule the old key's deletion. See the
   * README's "Moving evidence to the archive".
   * @default - none (fresh environment accounts)
   */
  readonly keepEnvironmentEvidenceBuckets?: readonly string[];
  /**
   * Replicate every evidence bucket to a second COMPLIANCE-locked bucket in this region of the
   * archive account.
   * @default - no replica
   */
  readonly replicaRegion?: string;
  /**
   * Who reads the archive's alerts: `https://` endpoints (the security team's paging or chat
   * webhook) or email addresses, subscribed to the archive's alert topic in code. Required, at
   * least one: every environment account forwards its security events to that topic, and a topic
   * nobody reads alerts nobody. Each subscription stays pending until its owner confirms it.
   */
  readonly alertSubscribers: readonly string[];
}

export interface SubstrateAwsSettings {
  readonly region: string;
  /**
   * Keep evidence, its keys and every account's CloudTrail logs in an archive account the
   * environments' administrators cannot alter: a stack `<id>-archive`, applied before the
   * environment stacks.
   * @default - each environment's evidence lives in its own account, whose administrators can
   *   destroy the evidence key (recorded in the control map)
   */
  readonly archive?: SubstrateAwsArchive;
  /**
   * The AWS account of each environment, by environment name (12 digits). One account per
   * environment is the isolation the substrate is built for; two environments in one account
   * are refused unless `sharedAccounts` says why.
   */
  readonly accounts: Readonly<Record<string, string>>;
  /**
   * Accept environments that share an AWS account, with the reason (it reaches the control map).
   * The account's one GitHub OIDC provider and Auto Scaling service-linked role are then created
   * by the stack of the first such environment (in `environments` order) and looked up or
   * imported by the others, which must be applied after it.
   * @default - refused
   */
  readonly sharedAccounts?: { readonly reason: string };
  /**
   * Account-wide resources that already exist, by account id, so the stacks look them up
   * instead of creating them (creating either a second time fails): the GitHub Actions OIDC
   * provider, and the EC2 Auto Scaling service-linked role (present once any Auto Scaling group
   * has run in the account).
   * @default - none exist: each account's first stack creates both
   */
  readonly existingInAccounts?: { readonly githubOidcProvider?: readonly string[]; readonly autoScalingServiceRole?: readonly string[] };
  /** Remote state of each environment's stack, by environment name. @default - local state (the gate refuses it for PHI environments) */
  readonly stateBackends?: Readonly<Record<string, AwsStateBackend>>;
  /** Roles of the people who audit, by environment name. @default - no auditor role */
  readonly auditorPrincipalArns?: Readonly<Record<string, readonly string[]>>;
  /**
   * Runner pools: the tags of the private subnets, and the named administrators of each
   * environment's runner cluster. Deploys reach each environment's workload cluster (named
   * `<substrate id>-<env>`) in the namespaces of the repositories that deploy there.
   * @default - no runners
   */
  readonly runners?: {
    readonly privateSubnetTags: Readonly<Record<string, string>>;
    /** The named administrators of each environment's runner cluster (IAM role ARNs), by environment name. */
    readonly platformAdminArns: Readonly<Record<string, readonly string[]>>;
    /** @default `<substrate id>-<env>` */
    readonly workloadClusterNames?: Readonly<Record<string, string>>;
    /**
     * The IAM roles of each environment's workload cluster nodes, by environment name: the only
     * principals besides the build pool that the environment's image repositories let pull.
     * @default - none; pulls governed by IAM in the account alone
     */
    readonly workloadNodeRoleArns?: Readonly<Record<string, readonly string[]>>;
    /**
     * Runner namespaces and network fences, by environment name (each environment's VPC has its
     * own endpoint ranges); see AwsRunnerOptions.fences.
     * @default - none
     */
    readonly fences?: Readonly<Record<string, NonNullable<AwsRunnerOptions["fences"]>>>;
    /** A security group per runner pool, by environment name; see AwsRunnerOptions.poolSecurityGroups. @default - none */
    readonly poolSecurityGroups?: Readonly<Record<string, NonNullable<AwsRunnerOptions["poolSecurityGroups"]>>>;
  };
  /**
   * Signed-image admission on every environment's workload cluster (see AwsEnvironmentStackProps.admission):
   * each environment's policy is keyed to that environment's signing key. Needs `runners`.
   * @default - none
   */
  readonly admission?: AwsAdmissionOptions;
}

/** The GCP archive project (see GcpArchiveStack, GcpEvidenceArchiveStack and the README's project layout). */
export interface SubstrateGcpArchive {
  /** The archive project, distinct from every environment's. */
  readonly projectId: string;
  readonly projectNumber: string;
  /**
   * The break-glass member (`group:`, `user:` or `serviceAccount:`), made the archive project's
   * only owner; it applies the two archive stacks.
   */
  readonly breakGlassMember: string;
  /**
   * Environments whose GCP stacks were applied before the archive existed: their evidence bucket
   * and key stay in the environment project at the same addresses (read by auditors, no new
   * writes) instead of being dropped from the configuration, which `prevent_destroy` would stop.
   * @default - none (fresh environment projects)
   */
  readonly keepEnvironmentEvidenceBuckets?: readonly string[];
  /**
   * An archive applied before its usage-log bucket names carried the archive project: keep the
   * old names (those buckets are retention-locked; see GcpArchiveStackProps.legacyUsageLogBucketNames).
   * @default false
   */
  readonly legacyUsageLogBucketNames?: boolean;
}

export interface SubstrateGcpSettings {
  readonly region: string;
  /**
   * Keep evidence, its keys and every environment project's audit logs in an archive project
   * whose only owner is break-glass: stacks `<id>-gcp-archive` (applied first) and
   * `<id>-gcp-evidence-archive` (applied after the environment stacks).
   * @default - each environment's evidence lives in its own project, whose owners can destroy the
   *   evidence key (recorded in the control map)
   */
  readonly archive?: SubstrateGcpArchive;
  /** The project of each environment, by environment name. */
  readonly projects: Readonly<Record<string, { readonly id: string; readonly number: string }>>;
  /** @default - none */
  readonly auditorMembers?: readonly string[];
  /**
   * Remote state of each environment's GCP stack, by environment name (a bucket and CMEK per
   * environment, so one environment's pipeline cannot read another's state).
   * @default - local state
   */
  readonly stateBuckets?: Readonly<Record<string, GcpStateBucket>>;
  /** See GcpEnvironmentStackProps.workloadIdentityPoolSuffix. @default - no suffix */
  readonly workloadIdentityPoolSuffix?: string;
}

export interface HipaaSubstrateConfig {
  /** The GitHub organization. */
  readonly organization: string;
  /** Its numeric id (the `repository_owner_id` claim). */
  readonly organizationId: number;
  readonly githubPlan: GithubPlan;
  /** The compliance-workflows repository's name (the governance stack creates it). */
  readonly complianceRepo: string;
  /**
   * Its numeric id, once it exists. Nothing synthesized depends on it (`job_workflow_ref` and
   * `selected_workflows` name the repository), so a fresh organization can apply before the
   * repository, and therefore its id, exists.
   * @default - unknown
   */
  readonly complianceRepoId?: number;
  /** The team that owns the compliance workflows and reviews every change to them. */
  readonly complianceTeam: GithubTeamRef;
  /**
   * The GitHub App that creates the compliance workflows' release tags, the only actor that can
   * (no person, team or administrator bypass). Its private key belongs in a "release" environment
   * of the compliance repository that deploys from the default branch only (README, "Trust model").
   */
  readonly releaseAutomation: ReleaseAutomation;
  /** Teams that approve deployments (at most 6). */
  readonly approverTeamIds: readonly number[];
  /**
   * The one release of the compliance workflows deploys may run, as an exact tag (`"v1.4.2"`).
   * The runner groups' `selected_workflows`, the AWS trusts' `job_workflow_ref` and the GCP WIF
   * conditions all name this tag, so a new release reaches production only through a reviewed
   * change of this line. No pattern: GitHub matches runner groups' workflows exactly.
   */
  readonly approvedRelease: string;
  /** @default ".github/workflows/deploy.yml" (lower tiers), ".github/workflows/deploy-prod.yml" (production) */
  readonly deployWorkflows?: { readonly production: string; readonly other: string };
  /** @default ".github/workflows/hipaa-build.yml" */
  readonly evidenceWorkflow?: string;
  /** Workflow files to commit to the compliance repository. @default - none */
  readonly workflowFiles?: Readonly<Record<string, string>>;
  /**
   * Protect the compliance repository's tags (immutable, created only by `releaseAutomation`).
   * `false` is refused: every trust and runner group names the workflows at `approvedRelease`,
   * a tag anyone with write access could otherwise create or re-create on any commit.
   * @default true
   */
  readonly protectReleaseTags?: boolean;
  readonly environments: readonly Environment[];
  readonly repositories: readonly SubstrateRepository[];
  /** @default - no AWS stacks */
  readonly aws?: SubstrateAwsSettings;
  /** @default - no GCP stacks */
  readonly gcp?: SubstrateGcpSettings;
  /**
   * GitLab governance beside GitHub's, in its own stack (`<id>-gitlab`): protected branches and
   * tags, protected environments with group approvals, protected runners and the job-token
   * allow-list, from the same environments. The GCP stacks then also trust the GitLab subjects it
   * derives from the refs it protects (`subjectsFor`), and each environment's deploy gate names
   * its GitLab approver groups next to the GitHub teams.
   * @default - no GitLab stack
   */
  readonly gitlab?: Omit<GitlabGovernanceConfig, "environments">;
  /** The deploy policy gate written next to each environment stack. @default - zero-finding thresholds, the substrate's BAA services */
  readonly deployGate?: SubstrateDeployGateSettings;
}

export interface SubstrateDeployGateSettings {
  /** Scan thresholds by environment name. @default - zero critical findings and zero secrets everywhere */
  readonly scanThresholds?: Readonly<Record<string, ScanThresholdsProps>>;
  /** The services your Business Associate Agreement covers. @default BaaRegistry.substrateDefaults() */
  readonly baa?: BaaRegistry;
}

/** The GitHub side of the substrate: organization-level governance in its own stack and state. */
export class GithubGovernanceStack extends TerraformStack {
  public readonly complianceRepository: ComplianceWorkflowsRepository;
  public readonly protectedEnvironments: ProtectedEnvironment[] = [];
  public readonly claimTemplates: OidcClaimTemplate[] = [];
  public readonly runnerGroups: RunnerGroup[] = [];
  /** Each application repository's default-branch and tag rulesets. */
  public readonly applicationRulesets: ApplicationRepositoryRulesets[] = [];

  constructor(scope: Construct, id: string, config: HipaaSubstrateConfig) {
    super(scope, id);
    new GithubProvider(this, "github", { owner: config.organization });
    this.complianceRepository = new ComplianceWorkflowsRepository(this, "ComplianceWorkflows", {
      organization: config.organization,
      name: config.complianceRepo,
      plan: config.githubPlan,
      complianceTeam: config.complianceTeam,
      releaseAutomation: config.releaseAutomation,
      workflowFiles: config.workflowFiles,
      protectReleaseTags: config.protectReleaseTags,
    });
  }
}

/**
 * The whole substrate from one typed configuration: a GitHub governance stack, and one stack per
 * environment per cloud. Within an environment the GitHub environment, the OIDC subject, the
 * cloud role or WIF condition, the runner pools and the evidence bucket are built from the same
 * objects, so they always refer to each other and never to another environment. Construct ids
 * derive from names, never positions: adding an environment or a repository leaves every
 * existing resource's address unchanged.
 */
export class HipaaSubstrate extends Construct {
  public readonly github: GithubGovernanceStack;
  public readonly awsStacks: ReadonlyMap<string, AwsEnvironmentStack>;
  public readonly gcpStacks: ReadonlyMap<string, GcpEnvironmentStack>;
  /** The GitLab governance stack, with `gitlab`. */
  public readonly gitlab?: GitlabGovernanceStack;
  /** The AWS evidence archive, when `aws.archive` is given. */
  public readonly awsArchive?: AwsArchiveStack;
  /** The GCP archive project's audit-log stack, when `gcp.archive` is given. */
  public readonly gcpArchive?: GcpArchiveStack;
  /** The GCP archive project's evidence stack, when `gcp.archive` is given. */
  public readonly gcpEvidenceArchive?: GcpEvidenceArchiveStack;
  /** Every subject, by `repository/environment`. */
  public readonly subjects: ReadonlyMap<string, GithubOidcSubject>;
  /** The release of the compliance workflows every runner group and trust names. */
  public readonly approvedRelease: ApprovedRelease;

  constructor(scope: Construct, id: string, config: HipaaSubstrateConfig) {
    super(scope, id);
    const path = this.node.path;
    validateGithubOrganization(`${path}/organization`, config.organization);
    if ((config as { workflowTag?: unknown }).workflowTag !== undefined) {
      throw new HipaaConfigError({
        path: `${path}/workflowTag`,
        problem: "workflowTag is no longer read: a v* pattern admitted no run in the runner groups (GitHub matches their workflows exactly)",
        cfr: "164.312(c)(1)",
        fix: "replace it with approvedRelease: the exact release tag deploys may run, e.g. approvedRelease: \"v1.4.2\"",
      });
    }
    this.approvedRelease = ApprovedRelease.parse(config.approvedRelease, `${path}/approvedRelease`);
    if (config.protectReleaseTags === false) {
      throw new HipaaConfigError({
        path: `${path}/protectReleaseTags`,
        problem: `protectReleaseTags is false, but every trust and runner group the substrate builds accepts the compliance workflows at ${this.approvedRelease.ref}: anyone with write access to ${config.complianceRepo} could create that tag, or delete and re-create it, on an unreviewed commit`,
        cfr: "164.312(c)(1)",
        fix: "remove protectReleaseTags (tags are protected by default) and name the releaseAutomation GitHub App that creates release tags",
      });
    }
    const environments = validateEnvironments(config.environments, `${path}/environments`);
    const envByName = new Map(environments.map((e) => [e.name, e]));
    const repositories = validateRepositories(path, config, envByName);
    if (!config.aws && !config.gcp) {
      throw new HipaaConfigError({ path, problem: "neither aws nor gcp settings are given", fix: "pass aws: { region, accounts } and/or gcp: { region, projects }" });
    }

    // Stacks are children of the app, named after the substrate id, so their names (and states)
    // are the same as if the user had written them by hand.
    const app = this.node.scope!;
    this.github = new GithubGovernanceStack(app, `${id}-github`, config);
    const compliance = RepositoryRef.parse(`${config.organization}/${config.complianceRepo}`, { ownerId: config.organizationId, repositoryId: config.complianceRepoId });
    // Every reference to a compliance workflow (runner groups, AWS trusts, WIF conditions) is
    // built here from the one approved release, so they cannot name different releases.
    const release = this.approvedRelease;
    const workflowFor = (file: string) => new WorkflowRef({ repository: compliance, path: file, release });
    const deployFile = (env: Environment) => (env.isProduction ? config.deployWorkflows?.production ?? ".github/workflows/deploy-prod.yml" : config.deployWorkflows?.other ?? ".github/workflows/deploy.yml");
    const evidenceFile = config.evidenceWorkflow ?? ".github/workflows/hipaa-build.yml";
    const tagsProtected = this.github.complianceRepository.tagsProtected;

    const subjects = new Map<string, GithubOidcSubject>();
    const evidenceSubjects = new Map<string, GithubOidcSubject>();
    for (const repo of repositories) {
      const repoSubjects: GithubOidcSubject[] = [];
      for (const envName of repo.config.deploysTo) {
        const environment = envByName.get(envName)!;
        const common = {
          repository: repo.ref,
          environment,
          format: repo.config.subjectFormat,
          immutableSubjects: repo.config.immutableSubjects,
          claimKeys: repo.config.claimKeys,
          workflowTagsProtected: tagsProtected,
        };
        const subject = new GithubOidcSubject({ ...common, workflow: workflowFor(deployFile(environment)) });
        subjects.set(`${repo.ref.name}/${envName}`, subject);
        evidenceSubjects.set(`${repo.ref.name}/${envName}`, new GithubOidcSubject({ ...common, workflow: workflowFor(evidenceFile) }));
        repoSubjects.push(subject);
        this.github.protectedEnvironments.push(
          new ProtectedEnvironment(this.github, `Environment-${repo.ref.name}-${envName}`, {
            repository: repo.ref,
            environment,
            plan: config.githubPlan,
            visibility: repo.config.visibility ?? RepositoryVisibility.PRIVATE,
            reviewerTeamIds: config.approverTeamIds,
            branchPatterns: environment.isProduction ? undefined : repo.config.branchPatterns,
          }),
        );
      }
      this.github.claimTemplates.push(new OidcClaimTemplate(this.github, `ClaimTemplate-${repo.ref.name}`, { subjects: repoSubjects }));
      this.github.applicationRulesets.push(
        new ApplicationRepositoryRulesets(this.github, `Rulesets-${repo.ref.name}`, { repository: repo.ref, plan: config.githubPlan, visibility: repo.config.visibility ?? RepositoryVisibility.PRIVATE }),
      );
    }
    for (const environment of environments) {
      const deployers = repositories.filter((r) => r.config.deploysTo.includes(environment.name)).map((r) => r.ref);
      if (deployers.length === 0) continue;
      this.github.runnerGroups.push(
        new RunnerGroup(this.github, `RunnerGroup-${environment.name}`, {
          environment,
          plan: config.githubPlan,
          repositories: deployers,
          workflows: [workflowFor(deployFile(environment)), workflowFor(evidenceFile)],
        }),
      );
    }
    this.subjects = subjects;

    const forEnv = (map: Map<string, GithubOidcSubject>, env: string) => [...map.entries()].filter(([k]) => k.endsWith(`/${env}`)).map(([, s]) => s);
    // GitLab governance from the same environments: the refs it protects are the refs the GCP
    // trusts accept (subjectsFor), so the two cannot drift apart.
    this.gitlab = config.gitlab ? new GitlabGovernanceStack(app, `${id}-gitlab`, { ...config.gitlab, environments }) : undefined;
    const gitlab = this.gitlab;
    const gateFor = (environment: Environment) => ({
      environment,
      approverTeams: [...config.approverTeamIds.map(String), ...(gitlab?.approverGroups.get(environment.name) ?? [])],
      scanThresholds: config.deployGate?.scanThresholds?.[environment.name],
      baa: config.deployGate?.baa,
    });
    const aws = new Map<string, AwsEnvironmentStack>();
    const gcp = new Map<string, GcpEnvironmentStack>();
    const accountPlan = config.aws ? planAccounts(path, config.aws, environments) : undefined;
    if (config.aws?.admission && !config.aws.runners) {
      throw new HipaaConfigError({ path: `${path}/aws/admission`, problem: "admission is given without runners, so no environment has a workload cluster to admit images on", cfr: Cfr.INTEGRITY, fix: "pass runners (with the workload clusters' names), or drop admission" });
    }
    const archive = config.aws?.archive ? this.buildAwsArchive(app, id, path, config.aws, environments, repositories) : undefined;
    this.awsArchive = archive?.stack;
    const gcpArchive = config.gcp?.archive;
    if (config.gcp && gcpArchive) {
      for (const env of gcpArchive.keepEnvironmentEvidenceBuckets ?? []) {
        if (!environments.some((e) => e.name === env)) {
          throw new HipaaConfigError({ path: `${path}/gcp/archive/keepEnvironmentEvidenceBuckets`, problem: `"${env}" is not an environment`, fix: `use one of ${environments.map((e) => e.name).join(", ")}` });
        }
      }
      // Before the environment stacks: their audit-log sinks write into it (apply it first).
      this.gcpArchive = new GcpArchiveStack(app, `${id}-gcp-archive`, {
        projectId: gcpArchive.projectId,
        projectNumber: gcpArchive.projectNumber,
        region: config.gcp.region,
        breakGlassMember: gcpArchive.breakGlassMember,
        legacyUsageLogBucketNames: gcpArchive.legacyUsageLogBucketNames,
        environments: environments.map((environment) => ({ environment, ...archivedProject(path, config.gcp!, environment.name) })),
      });
    }
    for (const environment of environments) {
      const env = environment.name;
      if (config.aws && accountPlan) {
        const awsConfig = config.aws;
        const accountId = awsConfig.accounts[env];
        const deployments = forEnv(subjects, env);
        const owns = accountPlan.owner.get(accountId) === env;
        const existing = awsConfig.existingInAccounts;
        const oidcExists = !owns || (existing?.githubOidcProvider ?? []).includes(accountId);
        const runners = awsConfig.runners;
        const deployNamespaces = repositories.filter((r) => r.config.deploysTo.includes(env)).flatMap((r) => namespacesOf(r.config));
        const stack = new AwsEnvironmentStack(app, `${id}-${env}`, {
          environment,
          region: awsConfig.region,
          accountId,
          stateBackend: awsConfig.stateBackends?.[env],
          github:
            deployments.length > 0
              ? {
                  deployments,
                  evidenceWriters: forEnv(evidenceSubjects, env),
                  existingOidcProviderArn: oidcExists ? `arn:${partitionOf(awsConfig.region)}:iam::${accountId}:oidc-provider/${GithubOidcSubject.ISSUER_HOST}` : undefined,
                  deployNamespaces: Object.fromEntries(repositories.map((r) => [r.ref.name, namespacesOf(r.config)])),
                }
              : undefined,
          auditorPrincipalArns: awsConfig.auditorPrincipalArns?.[env],
          archive: archive?.optionsFor(environment),
          workloadCluster:
            runners && deployNamespaces.length > 0
              ? { clusterName: runners.workloadClusterNames?.[env] ?? `${id}-${env}`, namespaces: deployNamespaces, nodeRoleArns: runners.workloadNodeRoleArns?.[env] }
              : undefined,
          // One repository per application repository that deploys here: `ENV/REPO`, so environments
          // sharing an account never share a repository.
          imageRepositories: repositories.filter((r) => r.config.deploysTo.includes(env)).map((r) => `${env}/${r.ref.name}`),
          admission: runners && deployNamespaces.length > 0 ? awsConfig.admission : undefined,
          runners: runners
            ? {
                privateSubnetTags: runners.privateSubnetTags,
                platformAdminArns: runners.platformAdminArns[env],
                autoScalingServiceRoleExists: !owns || (existing?.autoScalingServiceRole ?? []).includes(accountId),
                fences: runners.fences?.[env],
                poolSecurityGroups: runners.poolSecurityGroups?.[env],
              }
            : undefined,
        });
        const sharing = accountPlan.sharers.get(accountId)!;
        if (sharing.length > 1) {
          recordException(stack, {
            section: Cfr.ACCESS_MANAGEMENT,
            what: `environments ${sharing.join(", ")} share AWS account ${accountId}${owns ? "" : ` (its OIDC provider and Auto Scaling role are created by ${id}-${accountPlan.owner.get(accountId)}; apply that stack first)`}`,
            reason: awsConfig.sharedAccounts!.reason,
          });
        }
        if (!archive) {
          recordException(stack, {
            section: Cfr.AUDIT_CONTROLS,
            what: `evidence of ${env} and its key live in the environment's own account ${accountId}, whose IAM administrators can schedule the key's deletion or re-policy it`,
            reason: "no archive account is configured (aws.archive); set it to move evidence custody out of the environment accounts",
          });
        }
        aws.set(env, stack);
        new DeployGate(stack, "DeployGate", { ...gateFor(environment), signer: DeployGate.awsSigner(stack.signingKey, accountId, awsConfig.region) });
      }
      if (config.gcp) {
        const project = gcpProject(path, config.gcp, env);
        gcp.set(
          env,
          new GcpEnvironmentStack(app, `${id}-gcp-${env}`, {
            environment,
            projectId: project.id,
            projectNumber: project.number,
            region: config.gcp.region,
            githubSubjects: forEnv(subjects, env),
            gitlabSubjects: gitlab ? gitlab.subjectsFor(env) : undefined,
            // Each repository's deploy service account reaches only its own namespaces.
            deployNamespaces: Object.fromEntries(repositories.filter((r) => r.config.deploysTo.includes(env)).map((r) => [r.ref.name, namespacesOf(r.config)])),
            auditorMembers: config.gcp.auditorMembers,
            stateBucket: gcpStateBucket(`${path}/gcp`, config.gcp, env),
            workloadIdentityPoolSuffix: config.gcp.workloadIdentityPoolSuffix,
            auditLogArchive: gcpArchive ? { bucketName: GcpArchiveStack.auditLogBucketName(gcpArchive.projectId, env) } : undefined,
            evidenceArchive: gcpArchive
              ? {
                  bucket: { environment, projectId: gcpArchive.projectId, bucketName: GcpEvidenceArchiveStack.evidenceBucketName(gcpArchive.projectId, env) },
                  keepLocalEvidenceBucket: (gcpArchive.keepEnvironmentEvidenceBuckets ?? []).includes(env),
                }
              : undefined,
          }),
        );
        const stack = gcp.get(env)!;
        if (!gcpArchive) {
          recordException(stack, {
            section: Cfr.AUDIT_CONTROLS,
            what: `evidence of ${env} and its Cloud KMS key live in the environment's own project ${project.id}, whose owners and editors can re-policy the bucket or destroy the key's versions`,
            reason: "no archive project is configured (gcp.archive); set it to move evidence custody out of the environment projects",
          });
        }
        new DeployGate(stack, "DeployGate", { ...gateFor(environment), signer: DeployGate.gcpSigner(stack.signingKey) });
      }
    }
    this.awsStacks = aws;
    this.gcpStacks = gcp;
    if (config.gcp && gcpArchive) {
      // After the environment stacks: its bucket policies name their service accounts. The
      // substrate's GCP stacks run no evidence runner pool, so only auditors are granted here.
      this.gcpEvidenceArchive = new GcpEvidenceArchiveStack(app, `${id}-gcp-evidence-archive`, {
        projectId: gcpArchive.projectId,
        projectNumber: gcpArchive.projectNumber,
        region: config.gcp.region,
        environments: environments.map((environment) => ({
          environment,
          ...archivedProject(path, config.gcp!, environment.name),
          auditorMembers: config.gcp!.auditorMembers,
        })),
      });
    }
  }

  /**
   * The archive stack, and for each environment the handle its stack writes through. Writer
   * roles are named by the same functions the environment stacks name them with, so the
   * archive's policies and the roles cannot drift apart.
   */
  private buildAwsArchive(app: Construct, id: string, path: string, aws: SubstrateAwsSettings, environments: readonly Environment[], repositories: readonly ValidatedRepository[]) {
    const archive = aws.archive!;
    const where = `${path}/aws/archive`;
    assertAccountId(`${where}/accountId`, archive.accountId);
    for (const environment of environments) {
      if (aws.accounts[environment.name] === archive.accountId) {
        throw new HipaaConfigError({
          path: `${where}/accountId`,
          problem: `the archive account ${archive.accountId} is also environment "${environment.name}"'s account, so that environment's administrators and pipelines would administer the evidence`,
          cfr: Cfr.AUDIT_CONTROLS,
          fix: "give the archive an account of its own, which no environment's pipeline or administrators can reach",
        });
      }
    }
    const partition = partitionOf(aws.region);
    const archived: ArchivedEnvironment[] = environments.map((environment) => {
      const env = environment.name;
      const accountId = aws.accounts[env];
      const role = (name: string) => `arn:${partition}:iam::${accountId}:role/${name}`;
      const writers: { roleArn: string; grantName: string; prefix?: string; anyRepository?: boolean }[] = repositories
        .filter((r) => r.config.deploysTo.includes(env))
        .map((r) => ({ roleArn: role(evidenceWriterRoleName(env, r.ref.name)), grantName: `EvidenceWriter${r.ref.name.replace(/[^A-Za-z0-9]/g, "")}`.slice(0, 64), prefix: `${r.ref.name}/${env}/` }));
      // The evidence runner pool's IRSA role (RunnerPool: ScopedRole default name for EvidenceRunner).
      // It uploads every repository's evidence of this environment: <any repository>/<env>/ only.
      if (aws.runners) writers.push({ roleArn: role(`hipaa-${env}-evidence-runner`), grantName: "EvidenceRunner", prefix: `${env}/`, anyRepository: true });
      return { environment, accountId, writers, auditorPrincipalArns: aws.auditorPrincipalArns?.[env] };
    });
    const stack = new AwsArchiveStack(app, `${id}-archive`, {
      substrateId: id,
      accountId: archive.accountId,
      region: aws.region,
      custody: { breakGlassRoleArn: archive.breakGlassRoleArn },
      environments: archived,
      stateBackend: archive.stateBackend,
      replicaRegion: archive.replicaRegion,
      alertSubscribers: archive.alertSubscribers,
    });
    const optionsFor = (environment: Environment) => ({
      evidenceBucket: new ArchivedEvidenceBucket({
        environment,
        bucketName: AwsArchiveStack.evidenceBucketName(id, environment.name, archive.accountId),
        archiveAccountId: archive.accountId,
        region: aws.region,
        partition,
      }),
      trail: {
        trailName: AwsArchiveStack.trailName(id, environment.name),
        bucketName: AwsArchiveStack.trailBucketName(id, archive.accountId),
        kmsKeyArn: `arn:${partition}:kms:${aws.region}:${archive.accountId}:${AwsArchiveStack.trailKeyAliasName(id)}`,
      },
      // The environment's own keys (signing, alerts) need a break-glass role of the same account:
      // KMS never lets another account's principal re-policy, disable or delete a key, so an
      // exemption naming the archive's role would freeze them for good. Same path and name, in
      // the environment account (a documented prerequisite).
      custody: { breakGlassRoleArn: archive.breakGlassRoleArn.replace(/^(arn:[^:]+:iam::)\d{12}(:role\/)/, `$1${aws.accounts[environment.name]}$2`) },
      securityEventBusArn: AwsArchiveStack.securityEventBusArn(partition, aws.region, archive.accountId),
      keepLocalEvidenceBucket: (archive.keepEnvironmentEvidenceBuckets ?? []).includes(environment.name),
    });
    for (const env of archive.keepEnvironmentEvidenceBuckets ?? []) {
      if (!environments.some((e) => e.name === env)) {
        throw new HipaaConfigError({ path: `${where}/keepEnvironmentEvidenceBuckets`, problem: `"${env}" is not an environment`, fix: `use one of ${environments.map((e) => e.name).join(", ")}` });
      }
    }
    return { stack, optionsFor };
  }
}

/** AWS partition of a region, for ARNs built before any provider call. */
function partitionOf(region: string): string {
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (region.startsWith("cn-")) return "aws-cn";
  return "aws";
}

interface AccountPlan {
  /** The environment whose stack creates each account's account-wide resources. */
  readonly owner: Map<string, string>;
  /** The environments in each account, in configuration order. */
  readonly sharers: Map<string, string[]>;
}

/**
 * Validates the account of every environment and decides which stack creates each account's
 * account-wide resources (one GitHub OIDC provider per account and issuer URL; one Auto
 * Scaling service-linked role per account): two stacks creating them make the second apply fail.
 */
function planAccounts(path: string, aws: SubstrateAwsSettings, environments: readonly Environment[]): AccountPlan {
  const owner = new Map<string, string>();
  const sharers = new Map<string, string[]>();
  for (const environment of environments) {
    const env = environment.name;
    const accountId = aws.accounts[env];
    if (!accountId) {
      throw new HipaaConfigError({ path: `${path}/aws`, problem: `no AWS account is given for environment "${env}"`, cfr: Cfr.ACCESS_MANAGEMENT, fix: `add accounts: { ${env}: "123456789012" }` });
    }
    assertAccountId(`${path}/aws/accounts/${env}`, accountId);
    if (!owner.has(accountId)) owner.set(accountId, env);
    sharers.set(accountId, [...(sharers.get(accountId) ?? []), env]);
  }
  for (const [accountId, envs] of sharers) {
    if (envs.length < 2) continue;
    const reason = aws.sharedAccounts?.reason ?? "";
    if (reason.trim().length < 20) {
      throw new HipaaConfigError({
        path: `${path}/aws/accounts`,
        problem: `environments ${envs.join(", ")} share AWS account ${accountId}, so a principal of one can reach the other's resources through account-wide IAM`,
        cfr: Cfr.ACCESS_MANAGEMENT,
        fix: "give each environment its own account, or pass sharedAccounts: { reason } with a reason of at least 20 characters (it is recorded in the control map)",
      });
    }
  }
  for (const [key, accounts] of Object.entries(aws.existingInAccounts ?? {})) {
    for (const accountId of accounts ?? []) {
      if (!sharers.has(accountId)) {
        throw new HipaaConfigError({ path: `${path}/aws/existingInAccounts/${key}`, problem: `account ${JSON.stringify(accountId)} is not the account of any environment`, fix: `use one of ${[...sharers.keys()].join(", ")}` });
      }
    }
  }
  if (aws.runners) {
    for (const environment of environments) {
      if (!aws.runners.platformAdminArns?.[environment.name]?.length) {
        throw new HipaaConfigError({
          path: `${path}/aws/runners/platformAdminArns`,
          problem: `no platform administrator is named for the "${environment.name}" runner cluster, so nobody could install or operate its runner controller`,
          cfr: Cfr.ACCESS_MANAGEMENT,
          fix: `add platformAdminArns: { ${environment.name}: ["arn:aws:iam::${aws.accounts[environment.name]}:role/..."] }`,
        });
      }
    }
  }
  return { owner, sharers };
}

/** An environment's project as the archive stacks name it. */
function archivedProject(path: string, gcp: SubstrateGcpSettings, env: string): { readonly projectId: string; readonly projectNumber: string } {
  const project = gcpProject(path, gcp, env);
  return { projectId: project.id, projectNumber: project.number };
}

function gcpProject(path: string, gcp: SubstrateGcpSettings, env: string): { readonly id: string; readonly number: string } {
  const project = gcp.projects[env];
  if (!project) {
    throw new HipaaConfigError({ path: `${path}/gcp`, problem: `no GCP project is given for environment "${env}"`, cfr: "164.308(a)(4)", fix: `add projects: { ${env}: { id, number } }` });
  }
  return project;
}

function gcpStateBucket(path: string, gcp: SubstrateGcpSettings, env: string): GcpStateBucket | undefined {
  if (!gcp.stateBuckets) return undefined;
  const bucket = gcp.stateBuckets[env];
  if (!bucket) {
    throw new HipaaConfigError({ path, problem: `stateBuckets names no bucket for environment "${env}"`, cfr: "164.312(a)(2)(iv)", fix: `add stateBuckets: { ${env}: { bucket, kmsEncryptionKey } }` });
  }
  return bucket;
}

interface ValidatedRepository {
  readonly config: SubstrateRepository;
  readonly ref: RepositoryRef;
}

function namespacesOf(repo: SubstrateRepository): readonly string[] {
  return repo.namespaces ?? [repo.name];
}

function validateRepositories(path: string, config: HipaaSubstrateConfig, envs: Map<string, Environment>): ValidatedRepository[] {
  const seen = new Set<string>();
  const namespaceOwner = new Map<string, string>();
  for (const repo of config.repositories) {
    for (const ns of namespacesOf(repo)) {
      const other = namespaceOwner.get(ns);
      if (other !== undefined && other !== repo.name) {
        throw new HipaaConfigError({
          path: `${path}/repositories/${repo.name}`,
          problem: `namespace "${ns}" is also ${other}'s: either repository's deploy identity could create pods and read Secrets in the other's namespace, and so act as its workload identity`,
          cfr: Cfr.ACCESS_MANAGEMENT,
          fix: "give each repository namespaces of its own (namespaces: [...])",
        });
      }
      namespaceOwner.set(ns, repo.name);
    }
  }
  return config.repositories.map((repo) => {
    const where = `${path}/repositories/${repo.name}`;
    if (seen.has(repo.name)) {
      throw new HipaaConfigError({ path: where, problem: `repository "${repo.name}" is listed twice`, fix: "list each repository once, with every environment it deploys to" });
    }
    seen.add(repo.name);
    if (repo.name === config.complianceRepo) {
      throw new HipaaConfigError({ path: where, problem: "the compliance repository cannot also be an application repository", cfr: "164.308(a)(4)", fix: "deploy from application repositories that call the compliance workflows" });
    }
    if (!Object.values(ImmutableSubjects).includes(repo.immutableSubjects)) {
      throw new HipaaConfigError({
        path: where,
        problem: `immutableSubjects ${JSON.stringify(repo.immutableSubjects)} is not given or not one of ${Object.values(ImmutableSubjects).join(", ")}`,
        cfr: "164.312(d)",
        fix: "say whether GitHub emits immutable subjects for the repository: NEW_SINCE_2026_07_15 (created, renamed or transferred since then), OPTED_IN (use_immutable_subject set through the REST API) or NOT_EMITTED; gh api repos/ORG/REPO/actions/oidc/customization/sub --jq .sub_claim_prefix shows it",
      });
    }
    validateImmutableSubjects(where, repo.subjectFormat, repo.immutableSubjects);
    if (repo.visibility === RepositoryVisibility.PUBLIC) {
      throw new HipaaConfigError({
        path: where,
        problem: "a public repository cannot call the private compliance repository's reusable workflows (GitHub never shares a private repository's workflows with public ones)",
        cfr: "164.312(c)(1)",
        fix: "make the application repository private or internal",
      });
    }
    if (repo.deploysTo.length === 0) {
      throw new HipaaConfigError({ path: where, problem: "deploysTo is empty", fix: "list the environments the repository deploys to" });
    }
    for (const env of repo.deploysTo) {
      if (!envs.has(env)) {
        throw new HipaaConfigError({
          path: where,
          problem: `deploysTo names unknown environment "${env}"`,
          fix: `use one of ${[...envs.keys()].join(", ")}`,
        });
      }
    }
    return { config: repo, ref: new RepositoryRef({ owner: config.organization, name: repo.name, ownerId: config.organizationId, repositoryId: repo.repositoryId }) };
  });
}
