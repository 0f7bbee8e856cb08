import { Construct } from "constructs";
import { Fn, S3Backend, TerraformStack, Token } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { DataAwsEksCluster } from "@cdktf/provider-aws/lib/data-aws-eks-cluster";
import { DataAwsIamRole } from "@cdktf/provider-aws/lib/data-aws-iam-role";
import { DataAwsSubnets } from "@cdktf/provider-aws/lib/data-aws-subnets";
import { HipaaConfigError } from "../src/errors";
import { Cfr, recordControl } from "../src/compliance";
import { declareEnvironment } from "./environment-declaration";
import { Environment, GithubOidcSubject, GitlabOidcSubject, RunnerPurpose } from "../src/model";
import { AutoScalingServiceRole } from "../constructs/aws/autoscaling-service-role";
import { EvidenceAuditorRole } from "../constructs/aws/evidence-auditor-role";
import { EvidenceBucket, EvidenceBucketProps, IEvidenceBucket } from "../constructs/aws/evidence-bucket";
import { ArchivedEvidenceBucket } from "../constructs/aws/archived-evidence-bucket";
import { AuditTrail, AuditTrailProps } from "../constructs/aws/audit-trail";
import { KeyCustody, lookUpBreakGlassRole } from "../constructs/aws/key-custody";
import { AUDIT_TAMPERING_EVENTS, globalEventsRegion, SecurityAlerts } from "../constructs/aws/security-alerts";
import { AwsAccountContext } from "../constructs/aws/account-context";
import { EvidenceWriterRole } from "../constructs/aws/evidence-writer-role";
import { GithubDeployRole } from "../constructs/aws/github-deploy-role";
import { GitlabDeployRole } from "../constructs/aws/gitlab-deploy-role";
import { CiOidcProvider } from "../constructs/aws/oidc-provider";
import { githubActionsTrust } from "../constructs/aws/role-trust";
import { IRunnerCluster, RunnerCluster } from "../constructs/aws/runner-cluster";
import { ClusterDeployAccess, DeployTarget } from "../constructs/aws/cluster-deploy-access";
import { RunnerPool } from "../constructs/aws/runner-pool";
import { SigningKey, SigningKeyProps } from "../constructs/aws/signing-key";
import { ImageRepository } from "../constructs/aws/image-repository";
import { AwsPrincipal } from "../constructs/aws/principal";
import { KyvernoRelease, SignedImageAdmission } from "../constructs/kubernetes/signed-image-admission";
import { RunnerEgress, RunnerNamespace } from "../constructs/kubernetes/runner-namespace";
import { EksAddon } from "@cdktf/provider-aws/lib/eks-addon";
import { RunnerPoolDestination, RunnerPoolSecurityGroup } from "../constructs/aws/runner-pool-security-group";
import { DataAwsEksClusterAuth } from "@cdktf/provider-aws/lib/data-aws-eks-cluster-auth";
import { HelmProvider } from "@cdktf/provider-helm/lib/provider";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";

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
  /**
   * The workload-cluster namespaces each repository's deploy role may change, by repository
   * name: a deploy identity reaches only its own application's namespaces (Secrets and pod
   * creation in another application's namespace would lead to that application's IRSA role).
   * @default - each repository deploys only to the namespace named after it
   */
  readonly deployNamespaces?: Readonly<Record<string, readonly string[]>>;
}

export interface AwsGitlabTrustOptions {
  readonly deployments: readonly GitlabOidcSubject[];
  /** @default https://gitlab.com */
  readonly issuerUrl?: string;
  /** The audience the jobs' `id_tokens` request. */
  readonly audience: string;
  /** @default - the provider is created */
  readonly existingOidcProviderArn?: string;
  /**
   * Namespaces each project's deploy role may change, by project path.
   * @default - each project deploys only to the namespace named after its last path segment
   */
  readonly deployNamespaces?: Readonly<Record<string, readonly string[]>>;
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
  /**
   * The named platform administrators of a created runner cluster (IAM role ARNs); required
   * when no `existingCluster` is given (see RunnerCluster).
   * @default - none
   */
  readonly platformAdminArns?: readonly string[];
  /**
   * True when the account's EC2 Auto Scaling service-linked role already exists (any Auto
   * Scaling group ever ran in it, or another stack of this account creates it): it is then
   * looked up instead of created, since creating it twice fails.
   * @default false - the role is created
   */
  readonly autoScalingServiceRoleExists?: boolean;
  /**
   * Runner namespaces and network fences on the runner cluster: per pool a namespace, the service
   * account its IRSA trust is pinned to (annotated with the pod role), a default-deny
   * NetworkPolicy and egress to DNS plus the purpose's destinations only (TCP 443; the node
   * metadata endpoint is cut out of every range). On a created cluster the VPC CNI add-on is
   * managed with network-policy enforcement on. Opt-in: the kubernetes provider authenticates to
   * the runner cluster from a data source and a token read at plan, which needs the cluster to
   * exist (apply the cluster first on a fresh account).
   * @default - none
   */
  readonly fences?: { readonly egress: Readonly<Partial<Record<RunnerPurpose, readonly RunnerEgress[]>>> };
  /**
   * A security group per pool (`RunnerPoolSecurityGroup`) in the nodes' launch templates instead of
   * the cluster's shared group, allowing the control plane, CoreDNS, S3 through the gateway
   * endpoint and the purpose's destinations (VPC endpoints for ECR, KMS, STS, EC2, EKS; the
   * workload API for deploy). Needs a created cluster (its security group gets the matching
   * ingress rules). Changing it rolls the pools' nodes (a new launch template version).
   * @default - none: nodes carry the cluster security group
   */
  readonly poolSecurityGroups?: { readonly vpcId: string; readonly destinations: Readonly<Partial<Record<RunnerPurpose, readonly RunnerPoolDestination[]>>> };
}

/** The environment's workload cluster, looked up by name so a missing one fails at plan. */
export interface AwsWorkloadClusterOptions {
  /** The EKS cluster's name (it must exist in this stack's account and region). */
  readonly clusterName: string;
  /**
   * Namespaces the environment's deploy runner pool may change (AmazonEKSEditPolicy scoped to
   * them): the union of the repositories' namespaces. Each deploy role gets only its own
   * repository's (see `github.deployNamespaces`).
   */
  readonly namespaces: readonly string[];
  /**
   * The IAM roles of the workload cluster's nodes: the only principals (besides the build pool)
   * the environment's image repositories let pull.
   * @default - none; pulls are then governed by IAM policies in the account alone
   */
  readonly nodeRoleArns?: readonly string[];
}

/**
 * Where the stack keeps its Terraform state: an S3 bucket with S3-native locking
 * (`use_lockfile`, Terraform 1.10+) and SSE-KMS with a customer-managed key. PHI environment
 * stacks with local state fail the HIPAA gate (HIPAA-STATE-REMOTE-ENCRYPTED): state holds
 * every resource's attributes and must be as protected as the resources.
 */
export interface AwsStateBackend {
  /** The state bucket (created beforehand, in the environment's account). */
  readonly bucket: string;
  /** The KMS key ARN state objects are encrypted with. */
  readonly kmsKeyArn: string;
  /** @default - the stack's region */
  readonly region?: string;
  /** @default `<stack id>/terraform.tfstate` */
  readonly key?: string;
}

/**
 * Evidence custody in an archive account (AwsArchiveStack): the environment's evidence bucket
 * and key live there, its CI roles write cross-account and put-only, and this account gets a
 * trail into the archive and alerts on tampering.
 */
export interface AwsArchiveOptions {
  /** The archive's evidence bucket for this environment. */
  readonly evidenceBucket: ArchivedEvidenceBucket;
  /** This account's CloudTrail trail into the archive's trail bucket. */
  readonly trail: Omit<AuditTrailProps, "evidenceBucketArns" | "dependsOn">;
  /**
   * Break-glass custody of this account's signing and alert keys: a role of this account. It is
   * looked up (`data.aws_iam_role`) and pinned by its unique id as well as its ARN, unless
   * `breakGlassRoleUniqueId` is given.
   */
  readonly custody: KeyCustody;
  /**
   * The archive account's default event bus (AwsArchiveStack.securityEventBusArn): every security
   * event this account alerts on is also forwarded there, so disabling the local alerts does not
   * silence the archive. The archive's bus policy must admit this account's forwarder role.
   * @default - not forwarded
   */
  readonly securityEventBusArn?: string;
  /**
   * Keep this stack's existing evidence bucket (same construct id, so the same addresses) as a
   * read-only record, for stacks applied before the archive existed. Without it, moving to an
   * archive removes the bucket and its key from this stack's configuration: Terraform would try to
   * delete the bucket (failing on locked objects) and SCHEDULE THE KEY'S DELETION, which would
   * make six years of evidence unreadable. New writes go to the archive either way.
   * @default false - no evidence bucket in this account (right for a fresh account)
   */
  readonly keepLocalEvidenceBucket?: boolean;
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
  readonly workloadCluster?: AwsWorkloadClusterOptions;
  /** Runner cluster and the build and evidence pools, and the deploy pool when a workloadCluster is given. @default - none */
  readonly runners?: AwsRunnerOptions;
  /** Remote state. @default - local state (refused by the HIPAA gate for PHI environments) */
  readonly stateBackend?: AwsStateBackend;
  /**
   * ECR repositories to create for this environment's images (names, e.g. `clinical/platform`):
   * immutable tags, scan on push, CMK, and a policy that lets only the build pool push and only
   * the workload cluster's nodes pull (`workloadCluster.nodeRoleArns`).
   * @default - none
   */
  readonly imageRepositories?: readonly string[];
  /**
   * Signed-image admission on the workload cluster (Kyverno from a pinned chart, a ClusterPolicy
   * keyed to this environment's signing key, Enforce, in `workloadCluster.namespaces`). Opt-in:
   * the chart and image digests are yours to review and pin, and the first apply must install the
   * chart before the policy (`-target` the release, or apply twice: kubernetes_manifest reads the
   * ClusterPolicy CRD at plan). The helm and kubernetes providers authenticate to the workload
   * cluster from its data source and an `aws_eks_cluster_auth` token, read at plan; nothing is
   * fetched at synth.
   * @default - none
   */
  readonly admission?: AwsAdmissionOptions;
  /**
   * Keep evidence in an archive account. Then no evidence bucket is created here, and auditors
   * are the archive's (AwsArchiveStack), not this stack's.
   * @default - evidence lives in this account (its administrators can destroy its key; the control map says so)
   */
  readonly archive?: AwsArchiveOptions;
}

export interface AwsAdmissionOptions {
  readonly release: KyvernoRelease;
  /** @default ["*"] */
  readonly imageReferences?: readonly string[];
  /**
   * The roles Kyverno calls KMS with (kms:GetPublicKey, kms:Verify on the signing key): its IRSA
   * role, or the workload nodes' roles.
   * @default workloadCluster.nodeRoleArns
   */
  readonly verifierRoleArns?: readonly string[];
}

/**
 * One environment's AWS substrate in its own stack (its own Terraform state, so a development
 * pipeline's state can never touch production): evidence bucket, cosign signing key, CI trust,
 * evidence writer and auditor roles, and the environment's runner pools.
 */
export class AwsEnvironmentStack extends TerraformStack {
  public readonly environment: Environment;
  /** The environment's evidence bucket: an EvidenceBucket here, or the archive's (ArchivedEvidenceBucket). */
  public readonly evidenceBucket: IEvidenceBucket;
  /** This account's trail into the archive, with `archive`. */
  public readonly auditTrail?: AuditTrail;
  /** Tampering alerts, with `archive`. */
  public readonly securityAlerts?: SecurityAlerts;
  public readonly signingKey: SigningKey;
  public readonly githubDeployRoles: readonly GithubDeployRole[];
  public readonly gitlabDeployRoles: readonly GitlabDeployRole[];
  public readonly evidenceWriterRoles: readonly EvidenceWriterRole[];
  public readonly evidenceAuditorRole?: EvidenceAuditorRole;
  public readonly runnerCluster?: IRunnerCluster;
  public readonly runnerPools: readonly RunnerPool[];
  /** The environment's image repositories, by name. */
  public readonly imageRepositories: ReadonlyMap<string, ImageRepository>;
  /** Each runner pool's namespace and network fence, when `runners.fences` is given. */
  public readonly runnerNamespaces: readonly RunnerNamespace[] = [];
  /** The EC2 Auto Scaling service-linked role the runner volume keys name. */
  public readonly autoScalingServiceRole?: AutoScalingServiceRole;
  /** Signed-image admission on the workload cluster, when `admission` is given. */
  public readonly admission?: SignedImageAdmission;
  private workloadTarget?: DeployTarget;
  private nodeRoleLookups?: string[];
  private workloadLookup?: DataAwsEksCluster;

  constructor(scope: Construct, id: string, props: AwsEnvironmentStackProps) {
    super(scope, id);
    const env = props.environment;
    this.environment = env;
    declareEnvironment(this, env);
    if (props.accountId !== undefined) assertAccountId(this.node.path, props.accountId);
    if (props.stateBackend) {
      const state = props.stateBackend;
      assertStateBackend(this.node.path, state);
      const backend = new S3Backend(this, {
        bucket: state.bucket,
        key: state.key ?? `${id}/terraform.tfstate`,
        region: state.region ?? props.region,
        encrypt: true,
        kmsKeyId: state.kmsKeyArn,
        allowedAccountIds: props.accountId ? [props.accountId] : undefined,
      });
      // S3-native state locking (Terraform >= 1.10); the pinned cdktf does not type it yet.
      backend.addOverride("use_lockfile", true);
    }
    new AwsProvider(this, "aws", {
      region: props.region,
      allowedAccountIds: props.accountId ? [props.accountId] : undefined,
      defaultTags: [{ tags: { HipaaEnvironment: env.name, ManagedBy: "cdktf-hipaa-substrate" } }],
    });
    if (props.archive) this.assertArchive(props);
    // A role of this account, looked up so the exemption is pinned to its unique id too.
    const custody = props.archive ? lookUpBreakGlassRole(this, "BreakGlassRole", props.archive.custody) : undefined;
    const localEvidence = props.archive && !props.archive.keepLocalEvidenceBucket ? undefined : new EvidenceBucket(this, "EvidenceBucket", { environment: env, ...props.evidence });
    this.evidenceBucket = props.archive?.evidenceBucket ?? localEvidence!;
    this.signingKey = new SigningKey(this, "SigningKey", { environment: env, custody, ...props.signing });

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
            roleName: evidenceWriterRoleName(env.name, subject.repository.name),
            // The evidence layout the pipeline uploads: <repository>/<environment>/<pipeline id>/.
            prefix: `${subject.repository.name}/${env.name}/`,
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
      const deployAccess = (role: GithubDeployRole | GitlabDeployRole, namespaces: readonly string[]) =>
        new ClusterDeployAccess(role, "ClusterDeploy", role, { ...this.requireWorkloadCluster(props), namespaces });
      for (const role of this.githubDeployRoles) {
        const repo = role.subject.repository.name;
        deployAccess(role, props.github?.deployNamespaces?.[repo] ?? [repo]);
      }
      for (const role of this.gitlabDeployRoles) {
        const project = role.subject.project.path;
        deployAccess(role, props.gitlab?.deployNamespaces?.[project] ?? [project.split("/").pop()!]);
      }
    }

    if (props.admission) this.admission = this.admitSignedImagesOnly(props, props.admission);

    if (props.auditorPrincipalArns && localEvidence) {
      this.evidenceAuditorRole = new EvidenceAuditorRole(this, "EvidenceAuditor", { bucket: localEvidence, auditorPrincipalArns: props.auditorPrincipalArns });
    }
    if (props.archive) {
      this.auditTrail = new AuditTrail(this, "AuditTrail", { ...props.archive.trail, evidenceBucketArns: [this.evidenceBucket.bucketArn] });
      this.securityAlerts = new SecurityAlerts(this, "SecurityAlerts", { topicName: `hipaa-${env.name}-security-alerts`, custody });
      this.securityAlerts.alertOn("KeyCustodyChanged", "A KMS key's policy or alias was changed, or the key was disabled or scheduled for deletion", AUDIT_TAMPERING_EVENTS.keyCustody);
      this.securityAlerts.alertOn("BucketProtectionChanged", "A bucket's policy, access logging, lifecycle, encryption, versioning or lock was changed", AUDIT_TAMPERING_EVENTS.bucketProtection);
      this.securityAlerts.alertOn("TrailChanged", "A CloudTrail trail was stopped, deleted or narrowed", AUDIT_TAMPERING_EVENTS.trail);
      if (props.archive.securityEventBusArn) {
        // The alerts and the forwarders watch each other: removing either is an event the other reports.
        this.securityAlerts.alertOn("AlertRulesChanged", "An EventBridge rule or target (an alert's or a forwarder's) was changed, disabled or deleted", AUDIT_TAMPERING_EVENTS.alertRules);
        this.securityAlerts.alertOn("AlertTopicsChanged", "An alert topic, its policy or a subscription was changed or deleted", AUDIT_TAMPERING_EVENTS.alertTopics);
        this.securityAlerts.alertOnRoleAssumed("BreakGlassAssumed", custody!.breakGlassRoleArn);
        // An IAM administrator of this account could re-trust or re-policy the forwarder or the
        // break-glass role; IAM events land in us-east-1 (mirrored below when this region is not).
        this.securityAlerts.alertOnRoleChanges("GuardedRolesChanged", [SecurityAlerts.forwarderRoleName(env.name), props.archive.custody.breakGlassRoleArn.split("/").pop()!]);
        this.securityAlerts.forwardTo(props.archive.securityEventBusArn, SecurityAlerts.forwarderRoleName(env.name), SecurityAlerts.heartbeatRuleName(env.name));
        const global = globalEventsRegion(props.region);
        if (global && global !== props.region) {
          // Break-glass sign-ins through the global STS endpoint, console switches and IAM changes
          // land in us-east-1: bring them to this region's bus, where the local rules alert, and
          // forward them from us-east-1 straight to the archive's bus (the home-region Forward*
          // rules cannot send on what another bus delivered: one bus-to-bus hop per event).
          const context = AwsAccountContext.of(this);
          this.securityAlerts.watchGlobalRegion(global, `arn:${context.partition}:events:${props.region}:${props.accountId ?? context.accountId}:event-bus/default`, `hipaa-${env.name}-global-event-forwarder`.slice(0, 64));
        }
      }
    }

    this.imageRepositories = new Map(
      (props.imageRepositories ?? []).map((name) => [
        name,
        // Construct ids from the repository name, so adding one moves no other's address.
        new ImageRepository(this, `Images-${name.replace(/\//g, "-")}`, { environment: env, repositoryName: name, pullerArns: this.workloadNodeRoles(props) }),
      ]),
    );
    const created = [...this.imageRepositories.values()];

    this.runnerPools = [];
    if (props.runners) {
      const r = props.runners;
      const subnetIds = r.privateSubnetIds ?? this.lookUpSubnets(r.privateSubnetTags);
      const cluster = r.existingCluster
        ? RunnerCluster.fromExisting(this, "RunnerCluster", { ...r.existingCluster, environments: [env] })
        : new RunnerCluster(this, "RunnerCluster", {
            clusterName: r.clusterName ?? `hipaa-${env.name}-runners`,
            environments: [env],
            privateSubnetIds: subnetIds,
            platformAdminArns: r.platformAdminArns ?? [],
          });
      this.runnerCluster = cluster;
      this.autoScalingServiceRole = r.autoScalingServiceRoleExists
        ? AutoScalingServiceRole.lookUp(this, "AutoScalingServiceRole")
        : AutoScalingServiceRole.create(this, "AutoScalingServiceRole");
      const pools = r.poolSecurityGroups;
      if (pools && !(cluster instanceof RunnerCluster)) {
        throw new HipaaConfigError({ path: `${this.node.path}/runners/poolSecurityGroups`, problem: "per-pool security groups need the cluster's security group, which an existing cluster does not expose here", cfr: Cfr.ACCESS_CONTROL, fix: "let the stack create the runner cluster, or attach pool security groups in your own node templates" });
      }
      const securityGroupsFor = (purpose: RunnerPurpose) =>
        pools && cluster instanceof RunnerCluster
          ? [new RunnerPoolSecurityGroup(this, `PoolSecurityGroup-${purpose}`, { environment: env, purpose, vpcId: pools.vpcId, clusterSecurityGroupId: cluster.cluster.vpcConfig.clusterSecurityGroupId, destinations: pools.destinations[purpose] ?? [] }).securityGroupId]
          : undefined;
      const common = { cluster, environment: env, privateSubnetIds: subnetIds, autoScalingRole: this.autoScalingServiceRole };
      const ecrRepositoryArns = [...(r.ecrRepositoryArns ?? []), ...created.map((repo) => repo.repositoryArn)];
      const build = new RunnerPool(this, "BuildRunners", { ...common, securityGroupIds: securityGroupsFor(RunnerPurpose.BUILD), purpose: RunnerPurpose.BUILD, signingKey: this.signingKey, ecrRepositoryArns: ecrRepositoryArns.length > 0 ? ecrRepositoryArns : undefined });
      created.forEach((repo) => repo.grantPush(build.podRole));
      this.runnerPools = [
        build,
        new RunnerPool(this, "EvidenceRunners", { ...common, securityGroupIds: securityGroupsFor(RunnerPurpose.EVIDENCE), purpose: RunnerPurpose.EVIDENCE, evidenceBucket: this.evidenceBucket }),
      ];
      // A deploy pool only where something deploys: an environment no repository deploys to
      // has no workload namespaces to reach.
      if (props.workloadCluster) {
        this.runnerPools = [...this.runnerPools, new RunnerPool(this, "DeployRunners", { ...common, securityGroupIds: securityGroupsFor(RunnerPurpose.DEPLOY), purpose: RunnerPurpose.DEPLOY, deployTarget: this.requireWorkloadCluster(props) })];
      }
    }
    if (props.runners?.fences && this.runnerCluster) this.runnerNamespaces = this.fenceRunners(props.runners.fences);
    this.recordSignatureChain();
  }

  private assertArchive(props: AwsEnvironmentStackProps): void {
    const archive = props.archive!;
    if (props.evidence && !archive.keepLocalEvidenceBucket) {
      throw new HipaaConfigError({ path: `${this.node.path}/evidence`, problem: "evidence options were given, but the evidence bucket lives in the archive account", fix: "set evidence options on the archive stack, or drop archive" });
    }
    if (archive.evidenceBucket.environment.name !== this.environment.name) {
      throw new HipaaConfigError({ path: `${this.node.path}/archive`, problem: `the archive bucket is for environment "${archive.evidenceBucket.environment.name}"`, cfr: Cfr.ACCESS_CONTROL, fix: `pass the archive's "${this.environment.name}" bucket` });
    }
    if (props.accountId !== undefined && archive.evidenceBucket.archiveAccountId === props.accountId) {
      throw new HipaaConfigError({ path: `${this.node.path}/archive`, problem: `the archive account is this environment's own account ${props.accountId}`, cfr: Cfr.AUDIT_CONTROLS, fix: "give the archive an account of its own" });
    }
  }

  private requireWorkloadCluster(props: AwsEnvironmentStackProps): DeployTarget {
    if (!props.workloadCluster) {
      throw new HipaaConfigError({
        path: `${this.node.path}/runners`,
        problem: "a deploy runner pool needs the environment's workload cluster",
        fix: "pass workloadCluster: { clusterName, namespaces }",
      });
    }
    const name = props.workloadCluster.clusterName;
    if (!Token.isUnresolved(name) && !/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/.test(name)) {
      throw new HipaaConfigError({
        path: `${this.node.path}/workloadCluster`,
        problem: `${JSON.stringify(name)} is not an EKS cluster name`,
        fix: "name the workload cluster exactly (1-100 letters, digits, '-' or '_', starting with a letter or digit; no wildcard)",
      });
    }
    if (!this.workloadTarget) {
      // A data source, not a literal name: a cluster that does not exist fails at plan with
      // "cluster not found" instead of access entries failing half-way through an apply.
      const cluster = new DataAwsEksCluster(this, "WorkloadCluster", { name: props.workloadCluster.clusterName });
      this.workloadLookup = cluster;
      this.workloadTarget = { clusterName: cluster.name, clusterArn: cluster.arn, namespaces: props.workloadCluster.namespaces, environment: this.environment };
    }
    return this.workloadTarget;
  }

  private fenceRunners(fences: NonNullable<AwsRunnerOptions["fences"]>): RunnerNamespace[] {
    const cluster = this.runnerCluster!;
    const lookup = new DataAwsEksCluster(this, "RunnerClusterLookup", { name: cluster.clusterName });
    const auth = new DataAwsEksClusterAuth(this, "RunnerClusterAuth", { name: cluster.clusterName });
    const kubernetesProvider = new KubernetesProvider(this, "kubernetes-runners", {
      alias: "runners",
      host: lookup.endpoint,
      clusterCaCertificate: Fn.base64decode(lookup.certificateAuthority.get(0).data),
      token: auth.token,
    });
    const created = cluster instanceof RunnerCluster ? cluster : undefined;
    // The VPC CNI enforces NetworkPolicy only when asked to; without it every fence below is inert.
    const cni = created
      ? new EksAddon(this, "VpcCniNetworkPolicy", {
          clusterName: created.cluster.name,
          addonName: "vpc-cni",
          configurationValues: JSON.stringify({ enableNetworkPolicy: "true" }),
          resolveConflictsOnCreate: "OVERWRITE",
          resolveConflictsOnUpdate: "OVERWRITE",
        })
      : undefined;
    return this.runnerPools.map((pool) => {
      return new RunnerNamespace(this, `Fence-${pool.purpose}`, {
        environment: this.environment,
        purpose: pool.purpose,
        namespace: pool.namespace,
        serviceAccount: pool.serviceAccount,
        serviceAccountAnnotations: { "eks.amazonaws.com/role-arn": pool.podRole.roleArn },
        egress: fences.egress[pool.purpose] ?? [],
        kubernetesProvider,
        dependsOn: cni ? [cni] : undefined,
      });
    });
  }

  /** The auditor's "for this deploy, show me the signature": the key, the admission policy, the registry. */
  private recordSignatureChain(): void {
    const repos = [...this.imageRepositories.values()];
    if (repos.length === 0 && !this.admission) return;
    const env = this.environment.name;
    const enforcement = this.admission
      ? `the Kyverno ClusterPolicy ${this.admission.policyName} on the ${env} workload cluster admits a Pod only if every image carries a signature by that key`
      : "no admission policy on the workload cluster verifies it yet (AwsEnvironmentStackProps.admission)";
    recordControl(this, {
      section: Cfr.INTEGRITY,
      resources: [this.signingKey.key, this.signingKey.alias, ...(this.admission ? [this.admission.policy] : []), ...repos.map((r) => r.repository)],
      how: `For a deploy to ${env}, the signature: images pushed by the build pool to ${repos.map((r) => r.repositoryName).join(", ") || "the registry"} are signed with ${this.signingKey.aliasName} (cosign awskms://); ${enforcement}.`,
    });
  }

  private admitSignedImagesOnly(props: AwsEnvironmentStackProps, admission: AwsAdmissionOptions): SignedImageAdmission {
    if (!props.workloadCluster) {
      throw new HipaaConfigError({ path: `${this.node.path}/admission`, problem: "admission needs the environment's workload cluster", cfr: Cfr.INTEGRITY, fix: "pass workloadCluster: { clusterName, namespaces }" });
    }
    this.requireWorkloadCluster(props);
    const cluster = this.workloadLookup!;
    const auth = new DataAwsEksClusterAuth(this, "WorkloadClusterAuth", { name: cluster.name });
    const connection = { host: cluster.endpoint, clusterCaCertificate: Fn.base64decode(cluster.certificateAuthority.get(0).data), token: auth.token };
    const kubernetesProvider = new KubernetesProvider(this, "kubernetes", { alias: "workload", ...connection });
    const helmProvider = new HelmProvider(this, "helm", { alias: "workload", kubernetes: connection });
    const verifiers = admission.verifierRoleArns ?? this.workloadNodeRoles(props) ?? [];
    verifiers.forEach((arn, i) => this.signingKey.grantVerify({ ...AwsPrincipal.fromArn(arn, `Admission${i}`), environment: this.environment }));
    return new SignedImageAdmission(this, "SignedImageAdmission", {
      environment: this.environment,
      cosignKeyUri: this.signingKey.cosignKeyUri,
      namespaces: props.workloadCluster.namespaces,
      imageReferences: admission.imageReferences,
      release: admission.release,
      helmProvider,
      kubernetesProvider,
    });
  }

  /**
   * The workload nodes' roles, looked up by name: ECR refuses a repository policy (and KMS a key
   * policy) naming a role that does not exist, which would fail half-way through the apply; a
   * missing role fails the plan instead. The references keep the ARNs the user gave.
   */
  private workloadNodeRoles(props: AwsEnvironmentStackProps): string[] | undefined {
    const arns = props.workloadCluster?.nodeRoleArns;
    if (!arns) return undefined;
    if (!this.nodeRoleLookups) {
      this.nodeRoleLookups = arns.map((arn) => {
        if (Token.isUnresolved(arn)) return arn;
        const name = arn.split("/").pop()!;
        return new DataAwsIamRole(this, `WorkloadNodeRole-${name}`, { name }).arn;
      });
    }
    return this.nodeRoleLookups;
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
      // aws_subnets returns an empty list rather than an error: fail at plan, with the tags,
      // instead of EKS refusing the cluster half-way through the apply.
      lifecycle: {
        postcondition: [
          {
            condition: "${length(self.ids) >= 2}",
            errorMessage: `Fewer than two private subnets carry the tags ${Object.entries(tags).map(([k, v]) => `${k}=${v}`).join(", ")}; EKS needs subnets in at least two availability zones.`,
          },
        ],
      },
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

/** The name of a repository's evidence writer role; the archive's bucket policy names the role by it. */
export function evidenceWriterRoleName(env: string, repository: string): string {
  return `hipaa-${env}-evidence-writer-${repository}`.slice(0, 64);
}

/** A 12-digit AWS account id. */
export function assertAccountId(path: string, accountId: string): void {
  if (!/^\d{12}$/.test(accountId)) {
    throw new HipaaConfigError({ path, problem: `AWS account id ${JSON.stringify(accountId)} is not 12 digits`, fix: "pass the account id as a 12-digit string, e.g. \"111122223333\" (leading zeros kept)" });
  }
}

function assertStateBackend(path: string, state: AwsStateBackend): void {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(state.bucket)) {
    throw new HipaaConfigError({ path: `${path}/stateBackend`, problem: `state bucket ${JSON.stringify(state.bucket)} is not an S3 bucket name`, fix: "pass the name of the state bucket (3-63 lowercase letters, digits, dots, hyphens)" });
  }
  if (!/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[A-Za-z0-9/_-]+$/.test(state.kmsKeyArn)) {
    throw new HipaaConfigError({
      path: `${path}/stateBackend`,
      problem: `state kmsKeyArn ${JSON.stringify(state.kmsKeyArn)} is not a KMS key ARN`,
      cfr: Cfr.ENCRYPTION,
      fix: "pass the customer-managed key's ARN, e.g. arn:aws:kms:us-east-1:111122223333:key/1234abcd-...",
    });
  }
}
