import { Construct } from "constructs";
import { TerraformStack } from "cdktf";
import { GithubProvider } from "@cdktf/provider-github/lib/provider";
import { HipaaConfigError } from "../src/errors";
import {
  BaaRegistry,
  Environment,
  GithubClaimKey,
  GithubOidcSubject,
  GithubPlan,
  GithubSubjectFormat,
  RepositoryRef,
  RepositoryVisibility,
  ScanThresholdsProps,
  validateEnvironments,
  WorkflowRef,
} from "../src/model";
import { ComplianceWorkflowsRepository, GithubTeamRef } from "../constructs/github/compliance-workflows-repository";
import { OidcClaimTemplate } from "../constructs/github/oidc-claim-template";
import { ProtectedEnvironment } from "../constructs/github/protected-environment";
import { RunnerGroup } from "../constructs/github/runner-group";
import { AwsEnvironmentStack } from "./aws-environment-stack";
import { GcpEnvironmentStack } from "./gcp-environment-stack";
import { DeployGate } from "./deploy-gate";

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
  /** For CUSTOM subjects. @default GithubOidcSubject's default keys */
  readonly claimKeys?: readonly GithubClaimKey[];
  /** @default RepositoryVisibility.PRIVATE */
  readonly visibility?: RepositoryVisibility;
  /** Branches lower tiers deploy from. @default ["main"] */
  readonly branchPatterns?: readonly string[];
}

export interface SubstrateAwsSettings {
  readonly region: string;
  /** The AWS account of each environment, by environment name. */
  readonly accounts: Readonly<Record<string, string>>;
  /** Roles of the people who audit, by environment name. @default - no auditor role */
  readonly auditorPrincipalArns?: Readonly<Record<string, readonly string[]>>;
  /**
   * Runner pools: the tags of the private subnets, and the namespaces deploys may change on each
   * environment's workload cluster (named `<substrate id>-<env>`).
   * @default - no runners
   */
  readonly runners?: { readonly privateSubnetTags: Readonly<Record<string, string>>; readonly deployNamespaces: readonly string[] };
}

export interface SubstrateGcpSettings {
  readonly region: string;
  /** The project of each environment, by environment name. */
  readonly projects: Readonly<Record<string, { readonly id: string; readonly number: string }>>;
  /** @default - none */
  readonly auditorMembers?: readonly string[];
}

export interface HipaaSubstrateConfig {
  /** The GitHub organization. */
  readonly organization: string;
  /** Its numeric id (the `repository_owner_id` claim). */
  readonly organizationId: number;
  readonly githubPlan: GithubPlan;
  /** The compliance-workflows repository's name and numeric id. */
  readonly complianceRepo: string;
  readonly complianceRepoId: number;
  /** The team that owns and releases the compliance workflows. */
  readonly complianceTeam: GithubTeamRef;
  /** Teams that approve deployments (at most 6). */
  readonly approverTeamIds: readonly number[];
  /**
   * The release tag the deploy workflows are trusted at: an exact tag or a `v*` pattern, which is
   * accepted because the compliance repository's tag rulesets make its tags immutable.
   * @default "v*"
   */
  readonly workflowTag?: string;
  /** @default ".github/workflows/deploy.yml" (lower tiers), ".github/workflows/deploy-prod.yml" (production) */
  readonly deployWorkflows?: { readonly production: string; readonly other: string };
  /** @default ".github/workflows/hipaa-build.yml" */
  readonly evidenceWorkflow?: string;
  /** Workflow files to commit to the compliance repository. @default - none */
  readonly workflowFiles?: Readonly<Record<string, string>>;
  /**
   * Protect the compliance repository's release tags (immutable, creation restricted). Turning it
   * off makes any `v*` workflowTag refused.
   * @default true
   */
  readonly protectReleaseTags?: boolean;
  readonly environments: readonly Environment[];
  readonly repositories: readonly SubstrateRepository[];
  /** @default - no AWS stacks */
  readonly aws?: SubstrateAwsSettings;
  /** @default - no GCP stacks */
  readonly gcp?: SubstrateGcpSettings;
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

  constructor(scope: Construct, id: string, config: HipaaSubstrateConfig) {
    super(scope, id);
    new GithubProvider(this, "github", { owner: config.organization });
    this.complianceRepository = new ComplianceWorkflowsRepository(this, "ComplianceWorkflows", {
      organization: config.organization,
      name: config.complianceRepo,
      plan: config.githubPlan,
      complianceTeam: config.complianceTeam,
      releaseTagPattern: releaseTagPattern(config.workflowTag ?? "v*"),
      workflowFiles: config.workflowFiles,
      protectReleaseTags: config.protectReleaseTags,
    });
  }
}

function releaseTagPattern(workflowTag: string): string {
  return workflowTag.endsWith("*") ? workflowTag : "v*";
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
  /** Every subject, by `repository/environment`. */
  public readonly subjects: ReadonlyMap<string, GithubOidcSubject>;

  constructor(scope: Construct, id: string, config: HipaaSubstrateConfig) {
    super(scope, id);
    const path = this.node.path;
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
    const tag = config.workflowTag ?? "v*";
    const workflowFor = (file: string) => new WorkflowRef({ repository: compliance, path: file, tag });
    const deployFile = (env: Environment) => (env.isProduction ? config.deployWorkflows?.production ?? ".github/workflows/deploy-prod.yml" : config.deployWorkflows?.other ?? ".github/workflows/deploy.yml");
    const evidenceFile = config.evidenceWorkflow ?? ".github/workflows/hipaa-build.yml";
    const tagsProtected = this.github.complianceRepository.tagsProtected;

    const subjects = new Map<string, GithubOidcSubject>();
    const evidenceSubjects = new Map<string, GithubOidcSubject>();
    for (const repo of repositories) {
      const repoSubjects: GithubOidcSubject[] = [];
      for (const envName of repo.config.deploysTo) {
        const environment = envByName.get(envName)!;
        const common = { repository: repo.ref, environment, format: repo.config.subjectFormat, claimKeys: repo.config.claimKeys, workflowTagsProtected: tagsProtected };
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
    const gateFor = (environment: Environment) => ({
      environment,
      approverTeams: config.approverTeamIds.map(String),
      scanThresholds: config.deployGate?.scanThresholds?.[environment.name],
      baa: config.deployGate?.baa,
    });
    const aws = new Map<string, AwsEnvironmentStack>();
    const gcp = new Map<string, GcpEnvironmentStack>();
    for (const environment of environments) {
      const env = environment.name;
      if (config.aws) {
        const accountId = config.aws.accounts[env];
        if (!accountId) {
          throw new HipaaConfigError({ path: `${path}/aws`, problem: `no AWS account is given for environment "${env}"`, cfr: "164.308(a)(4)", fix: `add accounts: { ${env}: "123456789012" }` });
        }
        const deployments = forEnv(subjects, env);
        aws.set(
          env,
          new AwsEnvironmentStack(app, `${id}-${env}`, {
            environment,
            region: config.aws.region,
            accountId,
            github: deployments.length > 0 ? { deployments, evidenceWriters: forEnv(evidenceSubjects, env) } : undefined,
            auditorPrincipalArns: config.aws.auditorPrincipalArns?.[env],
            workloadCluster: config.aws.runners
              ? { clusterName: `${id}-${env}`, clusterArn: `arn:aws:eks:${config.aws.region}:${accountId}:cluster/${id}-${env}`, namespaces: config.aws.runners.deployNamespaces }
              : undefined,
            runners: config.aws.runners ? { privateSubnetTags: config.aws.runners.privateSubnetTags } : undefined,
          }),
        );
        const stack = aws.get(env)!;
        new DeployGate(stack, "DeployGate", { ...gateFor(environment), signer: DeployGate.awsSigner(stack.signingKey, accountId, config.aws.region) });
      }
      if (config.gcp) {
        const project = config.gcp.projects[env];
        if (!project) {
          throw new HipaaConfigError({ path: `${path}/gcp`, problem: `no GCP project is given for environment "${env}"`, cfr: "164.308(a)(4)", fix: `add projects: { ${env}: { id, number } }` });
        }
        gcp.set(
          env,
          new GcpEnvironmentStack(app, `${id}-gcp-${env}`, {
            environment,
            projectId: project.id,
            projectNumber: project.number,
            region: config.gcp.region,
            githubSubjects: forEnv(subjects, env),
            auditorMembers: config.gcp.auditorMembers,
          }),
        );
        const stack = gcp.get(env)!;
        new DeployGate(stack, "DeployGate", { ...gateFor(environment), signer: DeployGate.gcpSigner(stack.signingKey) });
      }
    }
    this.awsStacks = aws;
    this.gcpStacks = gcp;
  }
}

interface ValidatedRepository {
  readonly config: SubstrateRepository;
  readonly ref: RepositoryRef;
}

function validateRepositories(path: string, config: HipaaSubstrateConfig, envs: Map<string, Environment>): ValidatedRepository[] {
  const seen = new Set<string>();
  return config.repositories.map((repo) => {
    const where = `${path}/repositories/${repo.name}`;
    if (seen.has(repo.name)) {
      throw new HipaaConfigError({ path: where, problem: `repository "${repo.name}" is listed twice`, fix: "list each repository once, with every environment it deploys to" });
    }
    seen.add(repo.name);
    if (repo.name === config.complianceRepo) {
      throw new HipaaConfigError({ path: where, problem: "the compliance repository cannot also be an application repository", cfr: "164.308(a)(4)", fix: "deploy from application repositories that call the compliance workflows" });
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
