import { EvidenceBucket, RunnerCluster, RunnerPool, RunnerPurpose, SigningKey, statementsOf } from "./support/runners";
import { Environment, EnvironmentTier } from "../src/model";
import { actionsOf, awsStack, dev, production, refusal, resourceAt, resourcesOf, statements, synth } from "./support/synth";

const SUBNETS = ["subnet-0aaa1111", "subnet-0bbb2222"];

function runnerStack() {
  const { stack } = awsStack();
  const cluster = new RunnerCluster(stack, "Cluster", { clusterName: "hipaa-production-runners", environments: [production], privateSubnetIds: SUBNETS });
  const key = new SigningKey(stack, "Signing", { environment: production });
  const bucket = new EvidenceBucket(stack, "EvidenceBucket", { environment: production });
  const common = { cluster, environment: production, privateSubnetIds: SUBNETS };
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
    expect(refusal(() => new RunnerCluster(s, "A", { clusterName: "a", environments: [production], privateSubnetIds: ["subnet-1"] }))).toContain("at least two availability zones");
    expect(refusal(() => new RunnerCluster(s, "B", { clusterName: "b", environments: [production], privateSubnetIds: SUBNETS, logRetentionDays: 365 }))).toContain(
      "is not a CloudWatch retention of at least six years (45 CFR 164.316(b)(2)(i))",
    );
    expect(refusal(() => new RunnerCluster(s, "C", { clusterName: "c", environments: [production, production], privateSubnetIds: SUBNETS }))).toContain("appears more than once");
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
    expect(grant.Principal.AWS).toContain("role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling");
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
    expect(evidence.sort()).toEqual(["kms:Decrypt", "kms:GenerateDataKey", "s3:AbortMultipartUpload", "s3:PutObject"]);
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
    new RunnerPool(stack, "Evidence", { cluster, environment: staging, privateSubnetIds: SUBNETS, purpose: RunnerPurpose.EVIDENCE, evidenceBucket: new EvidenceBucket(stack, "E", { environment: staging }) });
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
