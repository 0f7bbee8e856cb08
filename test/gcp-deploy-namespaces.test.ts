import { Testing } from "cdktf";
import { GcpEnvironmentStack, GcpEnvironmentStackProps } from "../src";
import { GithubOidcSubject, GithubSubjectFormat, GitlabOidcSubject, GitlabProjectRef, GitlabRefType, RepositoryRef, WorkflowRef } from "../src/model";
import { collectControlRecords } from "../src/compliance";
import { GkeDeployAccess, GkeWorkloadCluster } from "../constructs/gcp";
import { gcpStack, production, refusal, resourcesOf, synth, SynthResult } from "./support/synth";

/**
 * Issue 12, item 3 on GCP: a repository's (or GitLab project's) deploy identity reaches only its
 * own namespaces of the workload cluster. Before, every trusted repository impersonated one shared
 * deploy service account holding project-wide roles/container.developer (every namespace, Secrets
 * included, conditioned only to the cluster).
 */

const PROJECT = "hipaa-health-prod";
const compliance = RepositoryRef.parse("hipaa-app-org/compliance-workflows", { ownerId: 1342004, repositoryId: 260064901 });
const workflow = new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy-prod.yml", tag: "v1.4.2" });
const github = (name: string, repositoryId: number) =>
  new GithubOidcSubject({ repository: RepositoryRef.parse(`hipaa-app-org/${name}`, { ownerId: 1342004, repositoryId }), environment: production, format: GithubSubjectFormat.CLASSIC, workflow, workflowTagsProtected: true });
const gitlab = (path: string, projectId: number) =>
  new GitlabOidcSubject({ project: new GitlabProjectRef(path, { projectId }), environment: production, refType: GitlabRefType.TAG, ref: "v*", refProtected: true });

const runners: GcpEnvironmentStackProps["runners"] = {
  cluster: {
    clusterName: "hipaa-production-runners",
    network: "hipaa-vpc",
    subnetwork: "hipaa-production-runners",
    podsRangeName: "pods",
    servicesRangeName: "services",
    masterIpv4CidrBlock: "172.16.0.0/28",
    platformAdminMembers: ["group:gke-platform-admins@hipaa-health.example"],
  },
  deployTarget: { projectId: PROJECT, location: "us-central1", clusterName: "hipaa-production-workloads" },
};

function environmentStack(overrides: Partial<GcpEnvironmentStackProps> = {}): { stack: GcpEnvironmentStack; out: SynthResult } {
  const stack = new GcpEnvironmentStack(Testing.app(), "hipaa-gcp-production", {
    environment: production,
    projectId: PROJECT,
    projectNumber: "404040404040",
    region: "us-central1",
    githubSubjects: [github("clinical-platform", 260064828), github("billing-service", 260064950)],
    gitlabSubjects: [gitlab("hipaa-health/scheduling", 48213201)],
    deployNamespaces: { "billing-service": ["billing", "billing-jobs"] },
    runners,
    ...overrides,
  });
  return { stack, out: synth(stack) };
}

/** The service account a member or `service_account_id` reference names, by logical id. */
const saRef = (value: string) => /google_service_account\.([A-Za-z0-9_-]+)\./.exec(value)?.[1];

/** RoleBinding subjects by namespace. */
function bindingsByUser(out: SynthResult): Map<string, string[]> {
  const byUser = new Map<string, string[]>();
  for (const rb of Object.values(resourcesOf(out, "kubernetes_role_binding_v1"))) {
    expect(rb.role_ref).toEqual({ api_group: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" });
    expect(rb.subject).toHaveLength(1);
    expect(rb.subject[0].kind).toBe("User");
    expect(rb.provider).toBe("kubernetes.workload");
    byUser.set(rb.subject[0].name, [...(byUser.get(rb.subject[0].name) ?? []), rb.metadata.namespace].sort());
  }
  return byUser;
}

describe("GKE deploy identities reach only their own namespaces (issue 12, item 3)", () => {
  const { stack, out } = environmentStack();
  const accounts = resourcesOf(out, "google_service_account");
  const emailOf = (logicalId: string) => `${accounts[logicalId].account_id}@${PROJECT}.iam.gserviceaccount.com`;
  const deployAccount = (application: string) => {
    const ids = Object.keys(accounts).filter((id) => id.startsWith(`${application}_ServiceAccount_`));
    expect(ids).toHaveLength(1);
    return ids[0];
  };
  const clinical = deployAccount("GithubIdentity_Deploy-clinical-platform");
  const billing = deployAccount("GithubIdentity_Deploy-billing-service");
  const scheduling = deployAccount("GitlabIdentity_Deploy-hipaa-health-scheduling");

  test("one deploy service account per repository / project, named after it", () => {
    expect(accounts[clinical].account_id).toBe("gh-clinical-platform-83019843");
    expect(accounts[billing].account_id).toBe("gh-billing-service-production");
    expect(accounts[scheduling].account_id).toBe("gl-scheduling-production");
    expect([...stack.githubIdentity!.deployers.keys()]).toEqual(["clinical-platform", "billing-service"]);
    expect([...stack.gitlabIdentity!.deployers.keys()]).toEqual(["hipaa-health/scheduling"]);
  });

  test("each deploy service account is impersonable only by its own repository's or project's principalSet", () => {
    const impersonations = Object.values(resourcesOf(out, "google_service_account_iam_member")).filter((b) => b.member.startsWith("principalSet://"));
    const bySa = new Map<string, string[]>();
    for (const b of impersonations) {
      expect(b.role).toBe("roles/iam.workloadIdentityUser");
      bySa.set(saRef(b.service_account_id)!, [...(bySa.get(saRef(b.service_account_id)!) ?? []), b.member.replace(/^.*\}\//, "")]);
    }
    expect(Object.fromEntries(bySa)).toEqual({
      [clinical]: ["attribute.repository_id/260064828"],
      [billing]: ["attribute.repository_id/260064950"],
      [scheduling]: ["attribute.project_id/48213201"],
    });
  });

  test("each deploy service account has edit RoleBindings only in its own namespaces; the deploy pool in their union", () => {
    const runner = Object.keys(accounts).find((id) => id.startsWith("DeployRunners_RunnerServiceAccount_"))!;
    expect(Object.fromEntries(bindingsByUser(out))).toEqual({
      [emailOf(clinical)]: ["clinical-platform"],
      [emailOf(billing)]: ["billing", "billing-jobs"],
      [emailOf(scheduling)]: ["scheduling"],
      [emailOf(runner)]: ["billing", "billing-jobs", "clinical-platform", "scheduling"],
    });
  });

  test("no deploy identity holds roles/container.developer or container.admin at project level; the cluster grant is clusterViewer on one cluster", () => {
    const members = Object.values(resourcesOf(out, "google_project_iam_member"));
    const deployers = [clinical, billing, scheduling, Object.keys(accounts).find((id) => id.startsWith("DeployRunners_RunnerServiceAccount_"))!];
    const broad = members.filter((m) => /^roles\/(container\.(developer|admin)|editor|owner)$/.test(m.role));
    expect(broad.filter((m) => deployers.includes(saRef(m.member) ?? ""))).toEqual([]);
    // container.admin remains only with the named platform administrators, on the runner cluster.
    expect(broad.map((m) => m.member)).toEqual(["group:gke-platform-admins@hipaa-health.example"]);
    const viewers = members.filter((m) => m.role === "roles/container.clusterViewer");
    expect(viewers.map((m) => saRef(m.member)).sort()).toEqual([...deployers].sort());
    for (const v of viewers) {
      expect(v.condition.expression).toBe(
        `resource.name == "projects/${PROJECT}/locations/us-central1/clusters/hipaa-production-workloads" || resource.name.startsWith("projects/${PROJECT}/locations/us-central1/clusters/hipaa-production-workloads/")`,
      );
    }
  });

  test("the Kubernetes provider is aliased `workload` and configured from the cluster lookup at plan, never at synth", () => {
    const providers = (out.tf as any).provider.kubernetes;
    expect(providers).toHaveLength(1);
    const [lookup] = Object.keys(out.tf.data!.google_container_cluster);
    const [client] = Object.keys(out.tf.data!.google_client_config);
    expect(providers[0]).toEqual({
      alias: "workload",
      host: `https://\${data.google_container_cluster.${lookup}.endpoint}`,
      cluster_ca_certificate: `\${base64decode(data.google_container_cluster.${lookup}.master_auth[0].cluster_ca_certificate)}`,
      token: `\${data.google_client_config.${client}.access_token}`,
    });
    expect((out.tf as any).terraform.required_providers.kubernetes).toEqual({ source: "kubernetes", version: "2.38.0" });
  });

  test("the control map says which service account reaches which namespaces", () => {
    const hows = collectControlRecords(stack).implementations.map((i) => i.how);
    expect(hows).toContainEqual(expect.stringContaining(`(${emailOf(billing)}) may change only namespaces billing, billing-jobs of projects/${PROJECT}/locations/us-central1/clusters/hipaa-production-workloads`));
    expect(hows).toContainEqual(`Only attribute.repository_id/260064828 (clinical-platform) may impersonate ${emailOf(clinical)}, the production deploy service account of clinical-platform alone.`);
  });

  test("without runners the deploy service accounts exist but reach no cluster", () => {
    const { out: bare } = environmentStack({ runners: undefined });
    expect(Object.keys(resourcesOf(bare, "kubernetes_role_binding_v1"))).toEqual([]);
    expect(Object.values(resourcesOf(bare, "google_project_iam_member")).filter((m) => m.role.startsWith("roles/container."))).toEqual([]);
    expect((bare.tf as any).provider?.kubernetes).toBeUndefined();
  });
});

describe("refusals", () => {
  test("two applications sharing a namespace (given, or by default name) are refused", () => {
    expect(refusal(() => environmentStack({ deployNamespaces: { "billing-service": ["clinical-platform"] } }))).toContain(
      `hipaa-gcp-production/deployNamespaces/billing-service: namespace "clinical-platform" is also clinical-platform's: either application's deploy identity could create pods and read Secrets in the other's namespace, and so act as its workload identity (45 CFR 164.308(a)(4))`,
    );
    // A GitLab project's default namespace is its last path segment: the same as a GitHub repository's name.
    expect(refusal(() => environmentStack({ gitlabSubjects: [gitlab("hipaa-health/clinical-platform", 48213202)] }))).toContain(`namespace "clinical-platform" is also clinical-platform's`);
  });

  test("reserved namespaces (the cluster's own, and the runner pools' whose Workload Identity is a runner's) are refused", () => {
    for (const ns of ["ci-production-build", "kube-system", "default", "gke-managed-system"]) {
      expect(refusal(() => environmentStack({ deployNamespaces: { "billing-service": [ns] } }))).toContain(`deploy namespace "${ns}" is reserved`);
    }
    expect(refusal(() => environmentStack({ deployNamespaces: { "billing-service": [] } }))).toContain("must be one or more Kubernetes names");
    expect(refusal(() => environmentStack({ deployNamespaces: { "billing-service": ["billing-*"] } }))).toContain("must be one or more Kubernetes names");
    expect(refusal(() => environmentStack({ deployNamespaces: { "billing-service": ["billing", "billing"] } }))).toContain("list a namespace twice");
  });

  test("deployNamespaces for an application that does not deploy here is refused", () => {
    expect(refusal(() => environmentStack({ deployNamespaces: { "billing-servce": ["billing"] } }))).toContain('deployNamespaces names "billing-servce", which deploys nothing to production');
  });

  test("one repository name with two ids is refused (they would share a deploy identity)", () => {
    expect(refusal(() => environmentStack({ githubSubjects: [github("clinical-platform", 260064828), github("clinical-platform", 260069999)] }))).toContain(
      "clinical-platform is named by two ids (attribute.repository_id/260064828, attribute.repository_id/260069999)",
    );
  });

  test("GkeDeployAccess refuses a principal without a literal service account email", () => {
    const { stack } = gcpStack();
    const target = GkeWorkloadCluster.lookup(stack, "Workloads", { projectId: PROJECT, location: "us-central1", clusterName: "w", environment: production });
    const group = { member: "group:deployers@hipaa-health.example", grantName: "Deployers", environment: production, serviceAccountEmail: "deployers@hipaa-health.example" };
    expect(refusal(() => new GkeDeployAccess(stack, "A", group, target, { namespaces: ["clinical-platform"] }))).toContain("is not a literal Google service account email");
  });
});
