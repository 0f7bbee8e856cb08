import { AutoScalingServiceRole } from "../constructs/aws/autoscaling-service-role";
import { EvidenceBucket, RunnerCluster, RunnerPool, RunnerPurpose, SigningKey, statementsOf } from "./support/runners";
import { Environment, EnvironmentTier } from "../src/model";
import { actionsOf, awsStack, dev, production, refusal, resourceAt, resourcesOf, statements, synth } from "./support/synth";

const SUBNETS = ["subnet-0aaa1111", "subnet-0bbb2222"];
const ADMINS = ["arn:aws:iam::444444444444:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_PlatformAdmin_0123456789abcdef"];

function runnerStack() {
  const { stack } = awsStack();
  const cluster = new RunnerCluster(stack, "Cluster", { clusterName: "hipaa-production-runners", environments: [production], privateSubnetIds: SUBNETS, platformAdminArns: ADMINS });
  const key = new SigningKey(stack, "Signing", { environment: production });
  const bucket = new EvidenceBucket(stack, "EvidenceBucket", { environment: production });
  const autoScalingRole = AutoScalingServiceRole.create(stack, "AutoScalingRole");
  const common = { cluster, environment: production, privateSubnetIds: SUBNETS, autoScalingRole };
  const target = { clusterName: "clinical-production", clusterArn: "arn:aws:eks:us-east-1:444444444444:cluster/clinical-production", namespaces: ["clinical-platform"], environment: production };
  const pools = [
    new RunnerPool(stack, "Build", { ...common, purpose: RunnerPurpose.BUILD, signingKey: key, ecrRepositoryArns: ["arn:aws:ecr:us-east-1:444444444444:repository/clinical-platform"] }),
    new RunnerPool(stack, "Evidence", { ...common, purpose: RunnerPurpose.EVIDENCE, evidenceBucket: bucket }),
    new RunnerPool(stack, "Deploy", { ...common, purpose: RunnerPurpose.DEPLOY, deployTarget: target }),
  ];
  return { stack, cluster, key, bucket, common, target, pools };
}

describe("RunnerCluster (created)", () => {
  const { stack } = runnerStack();
  const out = synth(stack);
  const cluster = resourceAt(out, "aws_eks_cluster", "Cluster/Cluster");

  test("matches the expected Terraform JSON", () => {
    expect(out.tf).toMatchSnapshot();
  });

  test("private endpoint only, secrets encrypted with a CMK, every log type, access entries only, deletion protection", () => {
    expect(cluster.vpc_config).toEqual({ subnet_ids: SUBNETS, endpoint_private_access: true, endpoint_public_access: false });
    expect(cluster.encryption_config.resources).toEqual(["secrets"]);
    expect(cluster.encryption_config.provider.key_arn).toMatch(/^\$\{aws_kms_key\.Cluster_SecretsKey_[0-9A-F]{8}\.arn\}$/);
    expect(cluster.enabled_cluster_log_types).toEqual(["api", "audit", "authenticator", "controllerManager", "scheduler"]);
    expect(cluster.access_config).toEqual({ authentication_mode: "API", bootstrap_cluster_creator_admin_permissions: false });
    expect(cluster.deletion_protection).toBe(true);
    expect(resourceAt(out, "aws_kms_key", "Cluster/SecretsKey")).toMatchObject({ enable_key_rotation: true, lifecycle: { prevent_destroy: true } });
    expect(resourceAt(out, "aws_cloudwatch_log_group", "Cluster/ControlPlaneLogs")).toMatchObject({ name: "/aws/eks/hipaa-production-runners/cluster", retention_in_days: 2192 });
    expect(resourceAt(out, "aws_iam_openid_connect_provider", "Cluster/IrsaProvider").client_id_list).toEqual(["sts.amazonaws.com"]);
  });

  test("refusals: one subnet, short log retention, duplicate environments", () => {
    const { stack: s } = awsStack();
    expect(refusal(() => new RunnerCluster(s, "A", { clusterName: "a", environments: [production], privateSubnetIds: ["subnet-1"], platformAdminArns: ADMINS }))).toContain("at least two availability zones");
    expect(refusal(() => new RunnerCluster(s, "B", { clusterName: "b", environments: [production], privateSubnetIds: SUBNETS, logRetentionDays: 365, platformAdminArns: ADMINS }))).toContain(
      "is not a CloudWatch retention of at least six years (45 CFR 164.316(b)(2)(i))",
    );
    expect(refusal(() => new RunnerCluster(s, "C", { clusterName: "c", environments: [production, production], privateSubnetIds: SUBNETS, platformAdminArns: ADMINS }))).toContain("appears more than once");
  });

  test("names its platform administrators: an access entry with cluster-admin scope each, and refuses a cluster nobody can administer", () => {
    const entries = Object.values(resourcesOf(out, "aws_eks_access_entry"));
    expect(entries.filter((e) => e.principal_arn === ADMINS[0])).toHaveLength(1);
    const admin = Object.values(resourcesOf(out, "aws_eks_access_policy_association")).filter((a) => a.principal_arn === ADMINS[0]);
    expect(admin).toHaveLength(1);
    expect(admin[0]).toMatchObject({ policy_arn: expect.stringMatching(/:eks::aws:cluster-access-policy\/AmazonEKSClusterAdminPolicy$/), access_scope: { type: "cluster" } });
    const { stack: s } = awsStack();
    expect(refusal(() => new RunnerCluster(s, "D", { clusterName: "d", environments: [production], privateSubnetIds: SUBNETS, platformAdminArns: [] }))).toContain(
      "no platform administrator is named",
    );
    expect(refusal(() => new RunnerCluster(s, "E", { clusterName: "e", environments: [production], privateSubnetIds: SUBNETS, platformAdminArns: ["arn:aws:iam::444444444444:role/*"] }))).toContain("is not one IAM role or user ARN");
  });

  test("the secrets key lets the deploying principal create AWS-resource grants (CreateCluster needs one), and use nothing", () => {
    const policy = resourceAt(out, "aws_kms_key", "Cluster/SecretsKey").policy;
    const deployer = statements(policy).find((st) => st.Sid === "DeployerCreatesClusterGrant")!;
    expect(actionsOf(deployer).sort()).toEqual(["kms:CreateGrant", "kms:DescribeKey"]);
    expect(deployer.Condition).toEqual({ Bool: { "kms:GrantIsForAWSResource": "true" } });
    const decrypters = statements(policy).filter((st) => actionsOf(st).includes("kms:Decrypt"));
    expect(decrypters.map((st) => st.Sid).sort()).toEqual(["ClusterSecretsEncryption", "ControlPlaneLogsEncryption"]);
  });
});

describe("RunnerPool", () => {
  const { stack } = runnerStack();
  const out = synth(stack);
  const templates = resourcesOf(out, "aws_launch_template");

  test("matches the expected Terraform JSON", () => {
    expect(out.tf).toMatchSnapshot();
  });

  test.each(["build", "evidence", "deploy"])("%s pool: Bottlerocket, tainted and labelled, no SSH, private subnets, launch template", (purpose) => {
    const group = resourceAt(out, "aws_eks_node_group", `${purpose[0].toUpperCase()}${purpose.slice(1)}/NodeGroup`);
    expect(group.ami_type).toBe("BOTTLEROCKET_x86_64");
    expect(group.remote_access).toBeUndefined();
    expect(group.disk_size).toBeUndefined();
    expect(group.subnet_ids).toEqual(SUBNETS);
    expect(group.node_group_name).toBe(`production-${purpose}-runners`);
    expect(group.taint).toEqual([
      { key: "hipaa.substrate/environment", value: "production", effect: "NO_SCHEDULE" },
      { key: "hipaa.substrate/purpose", value: purpose, effect: "NO_SCHEDULE" },
    ]);
    expect(group.labels).toEqual({ "hipaa.substrate/environment": "production", "hipaa.substrate/purpose": purpose });
    expect(group.launch_template.version).toMatch(/latest_version/);
  });

  test("every launch template requires IMDSv2 with hop limit 1 and encrypts every volume with a CMK", () => {
    expect(Object.keys(templates)).toHaveLength(3);
    for (const t of Object.values(templates)) {
      expect(t.metadata_options).toEqual({ http_endpoint: "enabled", http_tokens: "required", http_put_response_hop_limit: 1, instance_metadata_tags: "disabled" });
      expect(t.block_device_mappings.map((b: any) => b.device_name)).toEqual(["/dev/xvda", "/dev/xvdb"]);
      for (const b of t.block_device_mappings) {
        expect(b.ebs.encrypted).toBe("true");
        expect(b.ebs.kms_key_id).toMatch(/^\$\{aws_kms_key\.[A-Za-z]+_VolumeKey_[0-9A-F]{8}\.arn\}$/);
      }
    }
  });

  test("volume keys let EC2 Auto Scaling use them, or nodes could not start", () => {
    const key = resourceAt(out, "aws_kms_key", "Build/VolumeKey");
    const grant = statements(key.policy).find((s) => s.Sid === "AutoScalingGrantsForVolumes")!;
    expect(grant.Condition).toEqual({ Bool: { "kms:GrantIsForAWSResource": "true" } });
    // A reference to the created service-linked role, never its literal ARN: KMS refuses a key
    // policy naming a role that does not exist yet, and a fresh account has none.
    expect(grant.Principal.AWS).toMatch(/^\$\{aws_iam_service_linked_role\.AutoScalingRole_[0-9A-F]{8}\.arn\}$/);
    expect(Object.values(resourcesOf(out, "aws_iam_service_linked_role"))).toEqual([{ aws_service_name: "autoscaling.amazonaws.com" }]);
  });

  test("where the Auto Scaling role already exists it is looked up, and a pool with neither role nor key is refused", () => {
    const { stack: s } = awsStack();
    const cluster = new RunnerCluster(s, "Cluster", { clusterName: "c", environments: [production], privateSubnetIds: SUBNETS, platformAdminArns: ADMINS });
    const bucket = new EvidenceBucket(s, "EvidenceBucket", { environment: production });
    const base = { cluster, environment: production, privateSubnetIds: SUBNETS, purpose: RunnerPurpose.EVIDENCE, evidenceBucket: bucket };
    expect(refusal(() => new RunnerPool(s, "NoRole", base))).toContain("neither creates nor looks up");
    new RunnerPool(s, "Pool", { ...base, autoScalingRole: AutoScalingServiceRole.lookUp(s, "Existing") });
    const o = synth(s);
    expect(o.tf.data!.aws_iam_role).toEqual({ [Object.keys(o.tf.data!.aws_iam_role)[0]]: { name: "AWSServiceRoleForAutoScaling" } });
    expect(statements(resourceAt(o, "aws_kms_key", "Pool/VolumeKey").policy).find((st) => st.Sid === "AutoScalingGrantsForVolumes")!.Principal.AWS).toMatch(/^\$\{data\.aws_iam_role\.Existing_Role_[0-9A-F]{8}\.arn\}$/);
    expect(resourcesOf(o, "aws_iam_service_linked_role")).toEqual({});
  });

  test("node roles hold only the worker, CNI and registry read-only policies", () => {
    const attachments = Object.values(resourcesOf(out, "aws_iam_role_policy_attachment")).filter((a) => /Build_NodeRole|Evidence_NodeRole|Deploy_NodeRole/.test(a.role));
    expect(attachments).toHaveLength(9);
    expect(new Set(attachments.map((a) => a.policy_arn.replace(/^.*:policy\//, "")))).toEqual(new Set(["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"]));
    const rolePolicies = Object.values(resourcesOf(out, "aws_iam_role_policy")).map((p) => p.role);
    expect(rolePolicies.filter((r: string) => /NodeRole/.test(r))).toEqual([]);
  });

  test("IRSA trust pins the pool's namespace + service account and the audience", () => {
    expect(Object.values((out.tf as any).locals)).toEqual([expect.stringMatching(/^\$\{replace\(aws_iam_openid_connect_provider\.Cluster_IrsaProvider_[0-9A-F]{8}\.url, "https:\/\/", ""\)\}$/)]);
    for (const [pool, ns] of [["Build", "ci-production-build"], ["Evidence", "ci-production-evidence"], ["Deploy", "ci-production-deploy"]]) {
      const [trust] = statements(resourceAt(out, "aws_iam_role", `${pool}/PodRole/Role`).assume_role_policy);
      const keys = Object.keys(trust.Condition!.StringEquals);
      expect(keys).toHaveLength(2);
      expect(keys.find((k) => k.endsWith(":sub")) && trust.Condition!.StringEquals[keys.find((k) => k.endsWith(":sub"))!]).toBe(`system:serviceaccount:${ns}:runner`);
      expect(trust.Condition!.StringEquals[keys.find((k) => k.endsWith(":aud"))!]).toBe("sts.amazonaws.com");
      expect(keys[0]).toMatch(/^\$\{local\.Cluster_IrsaIssuerHost_[0-9A-F]{8}\}:sub$/);
    }
  });

  test("each pool's pod role holds only its purpose's permissions", () => {
    const build = statementsOf(out, "Build").flatMap(actionsOf);
    const evidence = statementsOf(out, "Evidence").flatMap(actionsOf);
    const deploy = statementsOf(out, "Deploy").flatMap(actionsOf);
    expect(build).toEqual(expect.arrayContaining(["kms:Sign", "ecr:PutImage"]));
    expect(build.filter((a) => a.startsWith("s3:") || a.startsWith("eks:"))).toEqual([]);
    expect([...new Set(evidence)].sort()).toEqual(["kms:Decrypt", "kms:GenerateDataKey", "s3:AbortMultipartUpload", "s3:PutObject"]);
    expect(deploy).toEqual(["eks:DescribeCluster"]);
    expect(resourceAt(out, "aws_eks_access_policy_association", "Deploy/DeployAccess/Policy")).toMatchObject({
      cluster_name: "clinical-production",
      policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
      access_scope: { type: "namespace", namespaces: ["clinical-platform"] },
    });
  });

  test("no policy grants a wildcard action", () => {
    for (const p of Object.values(resourcesOf(out, "aws_iam_role_policy"))) {
      for (const s of statements(p.policy)) expect(actionsOf(s).some((a) => a === "*" || a.endsWith(":*"))).toBe(false);
    }
  });
});

describe("RunnerPool refusals", () => {
  test("IMDS hop limit above 1", () => {
    const { stack, common, bucket } = runnerStack();
    const message = refusal(() => new RunnerPool(stack, "X", { ...common, purpose: RunnerPurpose.EVIDENCE, evidenceBucket: bucket, metadataHopLimit: 2 }));
    expect(message).toContain("test/X: IMDS hop limit 2 lets pods read the node role's credentials");
    expect(message).toContain("(45 CFR 164.312(a)(1))");
  });

  test("SSH access", () => {
    const { stack, common, bucket } = runnerStack();
    expect(refusal(() => new RunnerPool(stack, "X", { ...common, purpose: RunnerPurpose.EVIDENCE, evidenceBucket: bucket, sshKeyName: "ops" }))).toContain("SSH access to runner nodes was requested");
  });

  test("a pool for an environment the cluster does not serve", () => {
    const { stack, cluster } = runnerStack();
    const devBucket = new EvidenceBucket(stack, "DevEvidence", { environment: dev });
    const message = refusal(() => new RunnerPool(stack, "X", { cluster, environment: dev, privateSubnetIds: SUBNETS, purpose: RunnerPurpose.EVIDENCE, evidenceBucket: devBucket }));
    expect(message).toContain('environment "dev" is not one of the environments of cluster test/Cluster (production)');
  });

  test("another environment's resources", () => {
    const { stack, common, target } = runnerStack();
    const devBucket = new EvidenceBucket(stack, "DevEvidence", { environment: dev });
    expect(refusal(() => new RunnerPool(stack, "X", { ...common, purpose: RunnerPurpose.EVIDENCE, evidenceBucket: devBucket }))).toContain(
      'EvidenceRunner acts in environment "production" and cannot be granted rights on a resource of environment "dev"',
    );
    expect(refusal(() => new RunnerPool(stack, "Y", { ...common, purpose: RunnerPurpose.DEPLOY, deployTarget: { ...target, environment: dev } }))).toContain(
      'the deploy target belongs to environment "dev", not "production"',
    );
  });

  test("resources of another purpose, or none", () => {
    const { stack, common, bucket, key } = runnerStack();
    expect(refusal(() => new RunnerPool(stack, "X", { ...common, purpose: RunnerPurpose.EVIDENCE, evidenceBucket: bucket, signingKey: key }))).toContain(
      "a evidence pool was given signingKey, which belong to another purpose",
    );
    expect(refusal(() => new RunnerPool(stack, "Y", { ...common, purpose: RunnerPurpose.BUILD }))).toContain("a build pool needs signingKey");
  });

  test("wildcard namespaces, service accounts and ECR repositories", () => {
    const { stack, common, bucket, key, target } = runnerStack();
    expect(refusal(() => new RunnerPool(stack, "X", { ...common, purpose: RunnerPurpose.EVIDENCE, evidenceBucket: bucket, namespace: "ci-*" }))).toContain("wildcards are refused");
    expect(refusal(() => new RunnerPool(stack, "Y", { ...common, purpose: RunnerPurpose.DEPLOY, deployTarget: { ...target, namespaces: ["*"] } }))).toContain("without wildcards");
    expect(refusal(() => new RunnerPool(stack, "Z", { ...common, purpose: RunnerPurpose.BUILD, signingKey: key, ecrRepositoryArns: ["arn:aws:ecr:us-east-1:444444444444:repository/*"] }))).toContain(
      "must name repositories exactly",
    );
  });

  test("an existing cluster is accepted by name, issuer and provider ARN", () => {
    const { stack } = awsStack();
    const staging = new Environment({ name: "staging", tier: EnvironmentTier.STAGING });
    const cluster = RunnerCluster.fromExisting(stack, "Cluster", {
      clusterName: "shared-runners",
      clusterArn: "arn:aws:eks:us-east-1:222222222222:cluster/shared-runners",
      oidcIssuerUrl: "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
      oidcProviderArn: "arn:aws:iam::222222222222:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
      environments: [staging],
    });
    new RunnerPool(stack, "Evidence", {
      cluster,
      environment: staging,
      privateSubnetIds: SUBNETS,
      purpose: RunnerPurpose.EVIDENCE,
      evidenceBucket: new EvidenceBucket(stack, "E", { environment: staging }),
      autoScalingRole: AutoScalingServiceRole.lookUp(stack, "AutoScalingRole"),
    });
    const out = synth(stack);
    expect(resourcesOf(out, "aws_eks_cluster")).toEqual({});
    const [trust] = statements(resourceAt(out, "aws_iam_role", "Evidence/PodRole/Role").assume_role_policy);
    expect(trust.Condition!.StringEquals).toEqual({
      "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub": "system:serviceaccount:ci-staging-evidence:runner",
      "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud": "sts.amazonaws.com",
    });
    expect(refusal(() => RunnerCluster.fromExisting(stack, "Bad", { clusterName: "x", clusterArn: "x", oidcIssuerUrl: "oidc.eks.example", oidcProviderArn: "x", environments: [staging] }))).toContain(
      "is not an https issuer URL",
    );
  });
});
