import { GitlabOidcSubject, GitlabProjectRef, GitlabRefType } from "../src/model";
import { TerraformStack, Testing } from "cdktf";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { AwsEnvironmentStack, GcpEnvironmentStack, RunnerNamespace } from "../src";
import { ALL_RULES, evaluate, unitFromJson } from "../src/compliance";
import { RunnerPurpose } from "../src/model";
import { production, refusal, resourcesOf, SynthResult } from "./support/synth";

const ENDPOINTS = { cidr: "10.20.32.0/24", description: "VPC endpoints: ecr.api, ecr.dkr, kms, sts, s3" };
const API = { cidr: "10.20.0.0/28", description: "workload cluster API" };

function synthOf(stack: AwsEnvironmentStack | GcpEnvironmentStack): SynthResult {
  const json = Testing.synth(stack, true);
  return { json, tf: JSON.parse(json) };
}

function awsFenced(): SynthResult {
  return synthOf(
    new AwsEnvironmentStack(Testing.app(), "clinical-production", {
      environment: production,
      region: "us-east-1",
      accountId: "444444444444",
      workloadCluster: { clusterName: "clinical-production", namespaces: ["clinical-platform"] },
      imageRepositories: ["production/clinical-platform"],
      runners: {
        privateSubnetIds: ["subnet-0a", "subnet-0b"],
        platformAdminArns: ["arn:aws:iam::444444444444:role/platform-admin"],
        fences: { egress: { build: [ENDPOINTS], evidence: [ENDPOINTS], deploy: [ENDPOINTS, API] } },
        poolSecurityGroups: { vpcId: "vpc-0abc", destinations: { build: [ENDPOINTS], evidence: [ENDPOINTS], deploy: [ENDPOINTS, API] } },
      },
    }),
  );
}

function gcpFenced(): SynthResult {
  return synthOf(
    new GcpEnvironmentStack(Testing.app(), "hipaa-gcp-production", {
      environment: production,
      projectId: "hipaa-health-prod",
      projectNumber: "404040404040",
      region: "us-central1",
      // One deploying application, so the environment has a deploy pool to fence.
      gitlabSubjects: [
        new GitlabOidcSubject({ project: new GitlabProjectRef("hipaa-health/compliance-platform", { projectId: 48213077 }), environment: production, refType: GitlabRefType.TAG, ref: "v*", refProtected: true }),
      ],
      runners: {
        cluster: { clusterName: "hipaa-production-runners", network: "hipaa-vpc", subnetwork: "runners", podsRangeName: "pods", servicesRangeName: "services", masterIpv4CidrBlock: "172.16.0.0/28", platformAdminMembers: ["group:admins@hipaa-health.example"] },
        deployTarget: { projectId: "hipaa-health-prod", location: "us-central1", clusterName: "hipaa-production-workloads" },
        fences: { egress: { build: [{ cidr: "199.36.153.8/30", description: "private.googleapis.com" }], evidence: [{ cidr: "199.36.153.8/30", description: "private.googleapis.com" }], deploy: [{ cidr: "172.16.1.0/28", description: "workload control plane" }] } },
      },
    }),
  );
}

/** Namespace name -> [default-deny policies, other policies], resolving namespace references. */
function policiesByNamespace(out: SynthResult): Map<string, { deny: any[]; allow: any[] }> {
  const namespaces = resourcesOf(out, "kubernetes_namespace_v1");
  const nameOf = (ref: string) => {
    const m = /^\$\{kubernetes_namespace_v1\.(\S+?)\.metadata\[0\]\.name\}$/.exec(ref);
    return m ? namespaces[m[1]].metadata.name : ref;
  };
  const result = new Map<string, { deny: any[]; allow: any[] }>(Object.values(namespaces).map((n) => [n.metadata.name, { deny: [], allow: [] }]));
  for (const p of Object.values(resourcesOf(out, "kubernetes_network_policy_v1"))) {
    const entry = result.get(nameOf(p.metadata.namespace))!;
    const isDeny = JSON.stringify(p.spec.pod_selector) === "{}" && p.spec.policy_types.includes("Ingress") && p.spec.policy_types.includes("Egress") && !p.spec.egress && !p.spec.ingress;
    (isDeny ? entry.deny : entry.allow).push(p);
  }
  return result;
}

describe("runner namespaces and network fences", () => {
  const cases: [string, SynthResult][] = [["EKS", awsFenced()], ["GKE", gcpFenced()]];

  test.each(cases)("%s: one namespace per runner purpose, each with a default-deny policy (none lacks one)", (_, out) => {
    const byNs = policiesByNamespace(out);
    expect([...byNs.keys()].sort()).toEqual(["ci-production-build", "ci-production-deploy", "ci-production-evidence"]);
    for (const [ns, { deny }] of byNs) expect([ns, deny.length]).toEqual([ns, 1]);
    const findings = evaluate([unitFromJson("x", out.tf)], ALL_RULES).filter((f) => f.rule === "HIPAA-K8S-NAMESPACE-DEFAULT-DENY");
    expect(findings.map((f) => f.verdict)).toEqual(["pass", "pass", "pass"]);
  });

  test.each(cases)("%s: the service account the identity binding pins is created, annotated with its cloud identity", (name, out) => {
    const accounts = Object.values(resourcesOf(out, "kubernetes_service_account_v1"));
    expect(accounts.map((a) => a.metadata.name)).toEqual(["runner", "runner", "runner"]);
    for (const a of accounts) {
      const annotations = a.metadata.annotations;
      if (name === "EKS") expect(annotations["eks.amazonaws.com/role-arn"]).toMatch(/^\$\{aws_iam_role\.\w+_PodRole_\w+\.arn\}$/);
      else expect(annotations["iam.gke.io/gcp-service-account"]).toMatch(/^\$\{google_service_account\.\w+_RunnerServiceAccount_\w+\.email\}$/);
    }
  });

  test.each(cases)("%s: egress only to DNS and the purpose's ranges; the node metadata endpoint is never opened on EKS", (name, out) => {
    const byNs = policiesByNamespace(out);
    for (const [ns, { allow }] of byNs) {
      expect(allow).toHaveLength(1);
      const ranges = allow[0].spec.egress.flatMap((e: any) => e.to).map((t: any) => t.ip_block?.cidr).filter(Boolean);
      expect(ranges).not.toContain("0.0.0.0/0");
      if (name === "EKS") {
        expect(ranges).not.toContain("169.254.169.254/32");
        expect(ranges).toEqual(ns.endsWith("deploy") ? [ENDPOINTS.cidr, API.cidr] : [ENDPOINTS.cidr]);
      } else {
        // GKE: only the GKE metadata server, which serves the pod's Workload Identity, never the node's.
        expect(ranges).toEqual(expect.arrayContaining(["169.254.169.252/32"]));
      }
    }
  });

  test("EKS: the VPC CNI enforces NetworkPolicy, and the namespaces wait for it", () => {
    const out = awsFenced();
    const [[addonId, addon]] = Object.entries(resourcesOf(out, "aws_eks_addon"));
    expect(addon).toMatchObject({ addon_name: "vpc-cni", configuration_values: JSON.stringify({ enableNetworkPolicy: "true" }) });
    for (const ns of Object.values(resourcesOf(out, "kubernetes_namespace_v1"))) expect(ns.depends_on).toContain(`aws_eks_addon.${addonId}`);
  });

  test("a range covering the metadata endpoint has it cut out; /0 and the endpoint itself are refused", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    const kubernetesProvider = new KubernetesProvider(stack, "k8s", {});
    const base = { environment: production, purpose: RunnerPurpose.BUILD, namespace: "ci-production-build", serviceAccount: "runner", serviceAccountAnnotations: {}, kubernetesProvider };
    new RunnerNamespace(stack, "Wide", { ...base, egress: [{ cidr: "169.254.0.0/16", description: "link-local" }, { cidr: "10.0.0.0/16", description: "vpc" }] });
    const json = Testing.synth(stack);
    const [policy] = Object.values(resourcesOf({ json, tf: JSON.parse(json) }, "kubernetes_network_policy_v1")).filter((p) => p.spec.egress);
    expect(policy.spec.egress.slice(1).map((e: any) => e.to[0].ip_block)).toEqual([{ cidr: "169.254.0.0/16", except: ["169.254.169.254/32"] }, { cidr: "10.0.0.0/16" }]);
    expect(refusal(() => new RunnerNamespace(stack, "Open", { ...base, egress: [{ cidr: "0.0.0.0/0", description: "internet" }] }))).toMatch(/whole internet/);
    expect(refusal(() => new RunnerNamespace(stack, "Imds", { ...base, egress: [{ cidr: "169.254.169.254/32", description: "imds" }] }))).toMatch(/node metadata endpoint/);
  });

  test("the checker fails a namespace without a default-deny policy", () => {
    const doc = { resource: { kubernetes_namespace_v1: { n: { metadata: { name: "ci" } } }, kubernetes_network_policy_v1: { p: { metadata: { namespace: "ci" }, spec: { pod_selector: { match_labels: { app: "x" } }, policy_types: ["Ingress", "Egress"] } } } } };
    const f = evaluate([unitFromJson("x", doc)], ALL_RULES).filter((x) => x.rule === "HIPAA-K8S-NAMESPACE-DEFAULT-DENY");
    expect(f.map((x) => x.verdict)).toEqual(["fail"]);
  });
});

describe("EKS: a security group per pool instead of the cluster's shared group", () => {
  const out = awsFenced();
  const groups = resourcesOf(out, "aws_security_group");
  const templates = resourcesOf(out, "aws_launch_template");

  test("each pool's launch template carries its own group, and only it", () => {
    expect(Object.keys(groups)).toHaveLength(3);
    const used = Object.values(templates).map((t) => t.vpc_security_group_ids);
    expect(used).toHaveLength(3);
    for (const ids of used) expect(ids).toHaveLength(1);
    expect(new Set(used.map((ids) => ids[0])).size).toBe(3);
    for (const [id, g] of Object.entries(groups)) {
      const template = Object.values(templates).find((t) => t.vpc_security_group_ids[0] === `\${aws_security_group.${id}.id}`)!;
      expect(template.name).toBe(`hipaa-${g.name.replace(/^hipaa-/, "")}`);
    }
  });

  test("egress: the control plane, CoreDNS, S3 by prefix list and the purpose's ranges; never 0.0.0.0/0", () => {
    const egress = Object.values(resourcesOf(out, "aws_vpc_security_group_egress_rule"));
    expect(egress.map((e) => e.cidr_ipv4).filter(Boolean)).not.toContain("0.0.0.0/0");
    const cidrs = egress.filter((e) => e.cidr_ipv4).map((e) => e.cidr_ipv4).sort();
    expect(cidrs).toEqual([API.cidr, ENDPOINTS.cidr, ENDPOINTS.cidr, ENDPOINTS.cidr].sort());
    expect(egress.filter((e) => e.prefix_list_id)).toHaveLength(3);
    const ingress = Object.values(resourcesOf(out, "aws_vpc_security_group_ingress_rule"));
    const clusterSg = "${aws_eks_cluster.RunnerCluster_";
    expect(ingress.filter((i) => String(i.security_group_id).startsWith(clusterSg)).length).toBe(9);
  });

  test("refused: an unbounded destination", () => {
    const { RunnerPoolSecurityGroup } = require("../constructs/aws");
    const stack = new TerraformStack(Testing.app(), "s");
    expect(refusal(() => new RunnerPoolSecurityGroup(stack, "G", { environment: production, purpose: RunnerPurpose.BUILD, vpcId: "vpc-1", clusterSecurityGroupId: "sg-1", destinations: [{ cidr: "0.0.0.0/0", description: "all" }] }))).toMatch(/bounded/);
  });
});

describe("snapshots", () => {
  test("RunnerNamespace matches the expected Terraform JSON", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    const kubernetesProvider = new KubernetesProvider(stack, "k8s", {});
    new RunnerNamespace(stack, "Fence", {
      environment: production,
      purpose: RunnerPurpose.DEPLOY,
      namespace: "ci-production-deploy",
      serviceAccount: "runner",
      serviceAccountAnnotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::444444444444:role/hipaa-production-deploy-runner" },
      egress: [ENDPOINTS, API],
      kubernetesProvider,
    });
    expect(JSON.parse(Testing.synth(stack))).toMatchSnapshot();
  });
});

describe("pool security groups need a created cluster", () => {
  test("refused with an existing runner cluster", () => {
    expect(
      refusal(
        () =>
          new AwsEnvironmentStack(Testing.app(), "x", {
            environment: production,
            region: "us-east-1",
            runners: {
              privateSubnetIds: ["subnet-1", "subnet-2"],
              existingCluster: { clusterName: "runners", clusterArn: "arn:aws:eks:us-east-1:444444444444:cluster/runners", oidcIssuerUrl: "https://oidc.eks.us-east-1.amazonaws.com/id/ABC", oidcProviderArn: "arn:aws:iam::444444444444:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC" },
              poolSecurityGroups: { vpcId: "vpc-1", destinations: {} },
            },
          }),
      ),
    ).toMatch(/existing cluster/);
  });
});
