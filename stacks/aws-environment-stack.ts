import { Construct } from "constructs";
import { TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { DataAwsSubnets } from "@cdktf/provider-aws/lib/data-aws-subnets";
import { HipaaConfigError } from "../src/errors";
import { Environment, GithubOidcSubject, GitlabOidcSubject, RunnerPurpose } from "../src/model";
import { EvidenceAuditorRole } from "../constructs/aws/evidence-auditor-role";
import { EvidenceBucket, EvidenceBucketProps } from "../constructs/aws/evidence-bucket";
import { EvidenceWriterRole } from "../constructs/aws/evidence-writer-role";
import { GithubDeployRole } from "../constructs/aws/github-deploy-role";
import { GitlabDeployRole } from "../constructs/aws/gitlab-deploy-role";
import { CiOidcProvider } from "../constructs/aws/oidc-provider";
import { githubActionsTrust } from "../constructs/aws/role-trust";
import { IRunnerCluster, RunnerCluster } from "../constructs/aws/runner-cluster";
import { ClusterDeployAccess, DeployTarget } from "../constructs/aws/cluster-deploy-access";
import { RunnerPool } from "../constructs/aws/runner-pool";
import { SigningKey, SigningKeyProps } from "../constructs/aws/signing-key";

export interface AwsGithubTrustOptions {
  /** One deploy role per subject; every subject must be for this stack's environment. */
  readonly deployments: readonly GithubOidcSubject[];
  /**
   * Subjects of the jobs that emit evidence (the compliance repository's evidence workflow, as
   * called by each repository); each gets a put-only EvidenceWriterRole.
   * @default - no OIDC evidence writer (the evidence runner pool still writes through IRSA)
   */
  readonly evidenceWriters?: readonly GithubOidcSubject[];
  /** @default - the provider is created (one per account) */
  readonly existingOidcProviderArn?: string;
}

export interface AwsGitlabTrustOptions {
  readonly deployments: readonly GitlabOidcSubject[];
  /** @default https://gitlab.com */
  readonly issuerUrl?: string;
  /** The audience the jobs' `id_tokens` request. */
  readonly audience: string;
  /** @default - the provider is created */
  readonly existingOidcProviderArn?: string;
}

export interface AwsRunnerOptions {
  /**
   * Private subnets for the runner nodes (and a created cluster's control plane).
   * @default - looked up at plan time by `privateSubnetTags`
   */
  readonly privateSubnetIds?: readonly string[];
  /**
   * Tags that identify the private subnets when ids are not given (an `aws_subnets` lookup).
   * @default - none; one of privateSubnetIds or privateSubnetTags is required
   */
  readonly privateSubnetTags?: Readonly<Record<string, string>>;
  /**
   * Name of the runner cluster to create.
   * @default `hipaa-ENV-runners`; ignored when `existingCluster` is given
   */
  readonly clusterName?: string;
  /** @default - a cluster is created */
  readonly existingCluster?: Omit<Parameters<typeof RunnerCluster.fromExisting>[2], "environments">;
  /** ECR repositories the build pool pushes to. @default - none */
  readonly ecrRepositoryArns?: readonly string[];
}

export interface AwsEnvironmentStackProps {
  readonly environment: Environment;
  /** AWS region of the environment's resources. */
  readonly region: string;
  /**
   * The only AWS account this stack may apply to. The provider refuses any other, so a
   * production stack cannot be applied with development credentials.
   * @default - no restriction
   */
  readonly accountId?: string;
  /** Options for the evidence bucket. @default - compliant defaults */
  readonly evidence?: Omit<EvidenceBucketProps, "environment">;
  /** Options for the signing key. @default - compliant defaults */
  readonly signing?: Omit<SigningKeyProps, "environment">;
  /** GitHub Actions trust. @default - none */
  readonly github?: AwsGithubTrustOptions;
  /** GitLab CI trust. @default - none */
  readonly gitlab?: AwsGitlabTrustOptions;
  /** Roles of the people who audit; they get a read-only EvidenceAuditorRole. @default - none */
  readonly auditorPrincipalArns?: readonly string[];
  /**
   * The environment's workload cluster. The deploy runner pool and the GitHub/GitLab deploy
   * roles get "deploy to this cluster" (its namespaces only).
   * @default - none
   */
  readonly workloadCluster?: Omit<DeployTarget, "environment">;
  /** Runner cluster and the build, evidence and deploy pools (needs workloadCluster). @default - none */
  readonly runners?: AwsRunnerOptions;
}

/**
 * One environment's AWS substrate in its own stack (its own Terraform state, so a development
 * pipeline's state can never touch production): evidence bucket, cosign signing key, CI trust,
 * evidence writer and auditor roles, and the environment's runner pools.
 */
export class AwsEnvironmentStack extends TerraformStack {
  public readonly environment: Environment;
  public readonly evidenceBucket: EvidenceBucket;
  public readonly signingKey: SigningKey;
  public readonly githubDeployRoles: readonly GithubDeployRole[];
  public readonly gitlabDeployRoles: readonly GitlabDeployRole[];
  public readonly evidenceWriterRoles: readonly EvidenceWriterRole[];
  public readonly evidenceAuditorRole?: EvidenceAuditorRole;
  public readonly runnerCluster?: IRunnerCluster;
  public readonly runnerPools: readonly RunnerPool[];

  constructor(scope: Construct, id: string, props: AwsEnvironmentStackProps) {
    super(scope, id);
    const env = props.environment;
    this.environment = env;
    new AwsProvider(this, "aws", {
      region: props.region,
      allowedAccountIds: props.accountId ? [props.accountId] : undefined,
      defaultTags: [{ tags: { HipaaEnvironment: env.name, ManagedBy: "cdktf-hipaa-substrate" } }],
    });
    this.evidenceBucket = new EvidenceBucket(this, "EvidenceBucket", { environment: env, ...props.evidence });
    this.signingKey = new SigningKey(this, "SigningKey", { environment: env, ...props.signing });

    this.githubDeployRoles = [];
    if (props.github) {
      const provider = CiOidcProvider.githubActions(this, "GithubOidc", { existingProviderArn: props.github.existingOidcProviderArn });
      const writers = props.github.evidenceWriters ?? [];
      for (const subject of [...props.github.deployments, ...writers]) this.assertEnvironment(subject.environment, `GitHub subject ${subject.subject}`);
      this.githubDeployRoles = props.github.deployments.map(
        // Construct ids derive from the repository name, never a position, so adding a
        // repository does not change any existing role's address.
        (subject) => new GithubDeployRole(this, `GithubDeploy-${subject.repository.owner}-${subject.repository.name}`, { oidcProvider: provider, subject }),
      );
      this.evidenceWriterRoles = writers.map(
        (subject) =>
          new EvidenceWriterRole(this, `EvidenceWriter-${subject.repository.owner}-${subject.repository.name}`, {
            bucket: this.evidenceBucket,
            trust: githubActionsTrust(`${this.node.path}/EvidenceWriter`, provider.providerArn, subject, provider.audience),
            roleName: `hipaa-${env.name}-evidence-writer-${subject.repository.name}`.slice(0, 64),
            grantName: `EvidenceWriter${subject.repository.name.replace(/[^A-Za-z0-9]/g, "")}`.slice(0, 64),
          }),
      );
    } else {
      this.evidenceWriterRoles = [];
    }

    this.gitlabDeployRoles = [];
    if (props.gitlab) {
      const gitlab = props.gitlab;
      const provider = CiOidcProvider.gitlab(this, "GitlabOidc", { issuerUrl: gitlab.issuerUrl, audience: gitlab.audience, existingProviderArn: gitlab.existingOidcProviderArn });
      for (const subject of gitlab.deployments) this.assertEnvironment(subject.environment, `GitLab subject ${subject.subject}`);
      this.gitlabDeployRoles = gitlab.deployments.map(
        (subject) => new GitlabDeployRole(this, `GitlabDeploy-${subject.project.path.replace(/\//g, "-")}`, { oidcProvider: provider, subject }),
      );
    }

    if (props.workloadCluster) {
      for (const role of [...this.githubDeployRoles, ...this.gitlabDeployRoles]) {
        new ClusterDeployAccess(role, "ClusterDeploy", role, this.requireWorkloadCluster(props));
      }
    }

    if (props.auditorPrincipalArns) {
      this.evidenceAuditorRole = new EvidenceAuditorRole(this, "EvidenceAuditor", { bucket: this.evidenceBucket, auditorPrincipalArns: props.auditorPrincipalArns });
    }

    this.runnerPools = [];
    if (props.runners) {
      const r = props.runners;
      const subnetIds = r.privateSubnetIds ?? this.lookUpSubnets(r.privateSubnetTags);
      const cluster = r.existingCluster
        ? RunnerCluster.fromExisting(this, "RunnerCluster", { ...r.existingCluster, environments: [env] })
        : new RunnerCluster(this, "RunnerCluster", { clusterName: r.clusterName ?? `hipaa-${env.name}-runners`, environments: [env], privateSubnetIds: subnetIds });
      this.runnerCluster = cluster;
      const common = { cluster, environment: env, privateSubnetIds: subnetIds };
      this.runnerPools = [
        new RunnerPool(this, "BuildRunners", { ...common, purpose: RunnerPurpose.BUILD, signingKey: this.signingKey, ecrRepositoryArns: r.ecrRepositoryArns }),
        new RunnerPool(this, "EvidenceRunners", { ...common, purpose: RunnerPurpose.EVIDENCE, evidenceBucket: this.evidenceBucket }),
        new RunnerPool(this, "DeployRunners", { ...common, purpose: RunnerPurpose.DEPLOY, deployTarget: this.requireWorkloadCluster(props) }),
      ];
    }
  }

  private requireWorkloadCluster(props: AwsEnvironmentStackProps): DeployTarget {
    if (!props.workloadCluster) {
      throw new HipaaConfigError({
        path: `${this.node.path}/runners`,
        problem: "a deploy runner pool needs the environment's workload cluster",
        fix: "pass workloadCluster: { clusterName, clusterArn, namespaces }",
      });
    }
    return { ...props.workloadCluster, environment: this.environment };
  }

  private lookUpSubnets(tags: Readonly<Record<string, string>> | undefined): string[] {
    if (!tags || Object.keys(tags).length === 0) {
      throw new HipaaConfigError({
        path: `${this.node.path}/runners`,
        problem: "neither privateSubnetIds nor privateSubnetTags is given",
        fix: "pass the private subnet ids, or tags that select them (e.g. { \"hipaa-substrate/tier\": \"private\" })",
      });
    }
    const subnets = new DataAwsSubnets(this, "PrivateSubnets", {
      filter: Object.entries(tags).map(([key, value]) => ({ name: `tag:${key}`, values: [value] })),
    });
    return subnets.ids;
  }

  private assertEnvironment(other: Environment, what: string): void {
    if (other.name !== this.environment.name) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: `${what} is for environment "${other.name}", but this stack is "${this.environment.name}"`,
        cfr: "164.308(a)(4)",
        fix: `put it in the "${other.name}" stack; each environment's trust lives in its own stack and account`,
      });
    }
  }
}
