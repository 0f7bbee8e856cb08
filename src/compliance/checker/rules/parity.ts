import { Cfr } from "../../catalog";
import { ResourceIndex } from "../links";
import { policyStatements } from "../policy-document";
import { fail, Judgement, pass, Rule } from "../rule";
import { block, blocks, bool, str, strings, TfBody, TfResource } from "../terraform";

/*
 * Rules added for parity with Checkov and KICS (issue 13): each is a check those scanners run on
 * the resource types we already judge, with a HIPAA meaning no other rule covered. Each claims
 * only the Checkov check and KICS query (by UUID and name from Checkmarx/kics v2.2.0
 * assets/queries/terraform/.../metadata.json) whose meaning matches; where Checkov judges provider
 * defaults differently, checkov-differences.json says so and why. A KICS query is claimed when its
 * rego differs from the rule only on a value whose provider default is known (an unset client
 * certificate flag, an omitted root volume); one that judges a configured value differently, or
 * fails an unset value we cannot know from the configuration, is named in a comment, unclaimed.
 */

const PUBLIC_MEMBERS = ["allUsers", "allAuthenticatedUsers"];

function members(r: TfResource): string[] {
  return [...strings(r.body.member), ...strings(r.body.members)];
}

/** IAM member/binding resources on one kind of GCP resource never grant allUsers or allAuthenticatedUsers. */
function noPublicMembers(id: string, what: string, types: readonly string[], equivalent: string): Rule {
  return {
    id,
    title: `${what} IAM never grants allUsers or allAuthenticatedUsers`,
    severity: "critical",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: types,
    fix: "grant named members only",
    equivalents: [equivalent],
    evaluate: (r) => {
      const open = members(r).find((m) => PUBLIC_MEMBERS.includes(m));
      return open ? fail(`${open} is granted ${str(r.body.role) ?? "a role"}`) : pass("named members only");
    },
  };
}

/** Node configs a GKE rule judges: the cluster's own node_config, or the node pool's. Absent = not judged. */
function nodeConfig(r: TfResource): TfBody | undefined {
  return block(r.body, "node_config");
}

/** A trust statement's AWS principals (string or list). */
function awsPrincipals(statement: Record<string, any>): string[] {
  const principal = statement.Principal;
  if (principal === "*") return ["*"];
  return strings(principal?.AWS);
}

function trustStatements(role: TfResource, index: ResourceIndex): Record<string, any>[] | undefined {
  return policyStatements(role.body.assume_role_policy, index)?.filter((s) => s.Effect !== "Deny");
}

const ACCOUNT_PRINCIPAL = /^(\d{12}|arn:aws[a-z-]*:iam::\d{12}:root)$/;

/** Every account principal of the statement is narrowed to exact (wildcard-free) ARNs in that account. */
function pinsPrincipalArns(statement: Record<string, any>): boolean {
  const pinned = strings(statement.Condition?.ArnEquals?.["aws:PrincipalArn"]);
  if (pinned.length === 0 || pinned.some((a) => /[*?]/.test(a) || !/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\//.test(a))) return false;
  const accounts = new Set(pinned.map((a) => a.split(":")[4]));
  return awsPrincipals(statement).every((p) => ACCOUNT_PRINCIPAL.test(p) && accounts.has(p.replace(/^arn:[a-z-]+:iam::(\d{12}):root$/, "$1")));
}
/** Roles Checkov and GCP's own guidance count as administrative when held by a service account. */
const ADMIN_ROLE = /(admin|Admin|editor|owner)/;
const USER_MANAGED_SA = /@[^@]+\.iam\.gserviceaccount\.com$/;

function blockDeviceEncryption(r: TfResource): Judgement {
  const root = blocks(r.body.root_block_device);
  // Without a root_block_device the provider creates the root volume from the AMI unencrypted
  // (unless the account turned on EBS encryption by default, which the configuration cannot show).
  if (root.length === 0) return fail("no root_block_device: the root volume is not encrypted by this configuration");
  for (const [kind, list] of [["root_block_device", root], ["ebs_block_device", blocks(r.body.ebs_block_device)]] as const) {
    for (const d of list) {
      // A volume restored from a snapshot is encrypted only if the snapshot was, which the
      // configuration cannot show; encrypted = true encrypts it either way.
      if (bool(d.encrypted) === true) continue;
      return fail(`${kind}${str(d.device_name) ? ` ${str(d.device_name)}` : ""} is not encrypted`);
    }
  }
  return pass("every block device is encrypted");
}


/** Lower-cased IAM action patterns (wildcards kept) that statements allow on every resource ("*"). */
function actionsOnEveryResource(policies: readonly unknown[], index: ResourceIndex): string[] {
  const out: string[] = [];
  for (const policy of policies) {
    for (const s of policyStatements(policy, index) ?? []) {
      if ((s.Effect ?? "Allow") !== "Allow" || !strings(s.Resource).includes("*")) continue;
      out.push(...strings(s.Action).map((a) => a.toLowerCase()));
    }
  }
  return out;
}

const allows = (patterns: readonly string[], action: string) =>
  patterns.some((p) => new RegExp(`^${p.split("*").map((x) => x.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(action.toLowerCase()));

/** The policy documents a role holds in this configuration: inline blocks, role policies and attached customer-managed policies. */
function rolePolicies(role: TfResource, index: ResourceIndex): unknown[] {
  const out: unknown[] = blocks(role.body.inline_policy).map((b) => b.policy);
  for (const p of index.companions(role, "aws_iam_role_policy")) out.push(p.body.policy);
  for (const type of ["aws_iam_role_policy_attachment", "aws_iam_policy_attachment"]) {
    for (const a of index.companions(role, type)) {
      const managed = index.resolve(a.body.policy_arn);
      if (managed?.type === "aws_iam_policy") out.push(managed.body.policy);
    }
  }
  return out;
}

/**
 * A role that can call these actions on every resource can grant itself (or a principal it
 * controls) more than it was given: least privilege (164.308(a)(4)) ends there. One rule per
 * escalation path, as KICS lists them; unlike KICS, a wildcard action (iam:Put*) counts too.
 */
function privilegeEscalation(actions: readonly string[], kicsId: string): Rule {
  const name = actions.length === 1 ? `'${actions[0]}'` : actions.map((a) => `'${a}'`).join(" And ");
  return {
    id: `HIPAA-IAM-ESCALATION-${actions.map((a) => a.replace(":", "-").toUpperCase()).join("-")}`,
    title: `Roles cannot escalate privileges through ${actions.join(" + ")} on every resource`,
    severity: "high",
    controls: [Cfr.ACCESS_MANAGEMENT],
    resourceTypes: ["aws_iam_role"],
    fix: `scope ${actions.join(" and ")} to named resources (or drop them) in the role's policies`,
    equivalents: [],
    kics: [{ id: kicsId, name: `Role With Privilege Escalation By Actions ${name}` }],
    evaluate: (role, index) => {
      const policies = rolePolicies(role, index);
      if (policies.length === 0) return undefined;
      const granted = actionsOnEveryResource(policies, index);
      return actions.every((a) => allows(granted, a)) ? fail(`the role may call ${actions.join(" and ")} on "*"`) : pass("no escalation path through these actions");
    },
  };
}

const ESCALATION_PATHS: readonly [string, readonly string[]][] = [
  ["eda48c88-2b7d-4e34-b6ca-04c0194aee17", ["glue:UpdateDevEndpoint"]],
  ["b8a31292-509d-4b61-bc40-13b167db7e9c", ["iam:AddUserToGroup"]],
  ["f906113d-cdc0-415a-ba60-609cc6daaf4d", ["iam:AttachGroupPolicy"]],
  ["f465fff1-0a0f-457d-aa4d-1bddb6f204ff", ["iam:AttachRolePolicy"]],
  ["7c96920c-6fd0-449d-9a52-0aa431b6beaf", ["iam:AttachUserPolicy"]],
  ["5b4d4aee-ac94-4810-9611-833636e5916d", ["iam:CreateAccessKey"]],
  ["9a205ba3-0dd1-42eb-8d54-2ffec836b51a", ["iam:CreateLoginProfile"]],
  ["ee49557d-750c-4cc1-aa95-94ab36cbefde", ["iam:CreatePolicyVersion"]],
  ["be2aa235-bd93-4b68-978a-1cc65d49082f", ["cloudformation:CreateStack", "iam:PassRole"]],
  ["30b88745-eebe-4ecb-a3a9-5cf886e96204", ["ec2:RunInstances", "iam:PassRole"]],
  ["0a592060-8166-49f5-8e65-99ac6dce9871", ["glue:CreateDevEndpoint", "iam:PassRole"]],
  ["fa62ac4f-f5b9-45b9-97c1-625c8b6253ca", ["lambda:CreateFunction", "iam:PassRole", "lambda:InvokeFunction"]],
  ["d6047119-a0b2-4b59-a4f2-127a36fb685b", ["iam:PutGroupPolicy"]],
  ["eb64f1e9-f67d-4e35-8a3c-3d6a2f9efea7", ["iam:PutRolePolicy"]],
  ["8f75840d-9ee7-42f3-b203-b40e3979eb12", ["iam:PutUserPolicy"]],
  ["118281d0-6471-422e-a7c5-051bc667926e", ["iam:SetDefaultPolicyVersion"]],
  ["f1173d8c-3264-4148-9fdb-61181e031b51", ["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"]],
  ["35ccf766-0e4d-41ed-9ec4-2dab155082b4", ["iam:UpdateLoginProfile"]],
  ["c583f0f9-7dfd-476b-a056-f47c62b47b46", ["lambda:UpdateFunctionCode"]],
];

/** A bucket's policy documents: its inline policy and its aws_s3_bucket_policy companions. */
function bucketPolicies(bucket: TfResource, index: ResourceIndex): unknown[] {
  return [bucket.body.policy, ...index.companions(bucket, "aws_s3_bucket_policy").map((p) => p.body.policy)].filter((p) => p !== undefined && p !== null);
}

/** Allow statements whose principal is everyone ("*", AWS "*", or a principal pattern with "*"). */
function publicAllows(bucket: TfResource, index: ResourceIndex): Record<string, any>[] {
  return bucketPolicies(bucket, index)
    .flatMap((p) => policyStatements(p, index) ?? [])
    .filter((s) => (s.Effect ?? "Allow") === "Allow" && JSON.stringify(s.Principal ?? "").includes("*"));
}

/** S3 bucket policies grant no action of one kind to every principal (KICS's per-action queries). */
function s3PublicAction(id: string, what: string, matches: (action: string) => boolean, kics: { id: string; name: string }): Rule {
  return {
    id,
    title: `S3 bucket policies allow ${what} to no one but named principals`,
    severity: "critical",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["aws_s3_bucket"],
    fix: "name the principals in the bucket policy (Principal \"*\" only in Deny statements)",
    equivalents: [],
    kics: [kics],
    evaluate: (bucket, index) => {
      if (bucketPolicies(bucket, index).length === 0) return undefined;
      const open = publicAllows(bucket, index).find((s) => strings(s.Action ?? s.Actions).some((a) => matches(a.toLowerCase())));
      return open ? fail(`statement ${open.Sid ?? "(no Sid)"} allows ${strings(open.Action ?? open.Actions).join(", ")} to every principal`) : pass(`no public ${what}`);
    },
  };
}

export const PARITY_RULES: readonly Rule[] = [
  // --- GKE clusters ---
  {
    id: "HIPAA-GKE-NO-CLIENT-CERTIFICATE",
    title: "GKE clusters issue no client certificate (a static, non-revocable credential)",
    severity: "high",
    controls: [Cfr.AUTHENTICATION],
    resourceTypes: ["google_container_cluster"],
    fix: "master_auth { client_certificate_config { issue_client_certificate = false } } (the default)",
    equivalents: ["CKV_GCP_13"],
    kics: [{ id: "73fb21a1-b19a-45b1-b648-b47b1678681e", name: "Legacy Client Certificate Auth Enabled" }],
    evaluate: (c) => {
      const issue = bool(block(block(c.body, "master_auth"), "client_certificate_config")?.issue_client_certificate);
      return issue === true ? fail("a client certificate is issued: it cannot be revoked and bypasses IAM") : pass("no client certificate (IAM and OIDC only)");
    },
  },
  {
    id: "HIPAA-GKE-NETWORK-POLICY",
    title: "GKE clusters enforce Kubernetes network policy (Calico or Dataplane V2)",
    severity: "medium",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["google_container_cluster"],
    fix: "datapath_provider = \"ADVANCED_DATAPATH\" (Dataplane V2 always enforces network policy) or network_policy { enabled = true }",
    // KICS "Network Policy Disabled" (11e7550e) is not claimed: its rego fails Dataplane V2
    // clusters, which enforce network policy without the network_policy block.
    equivalents: ["CKV_GCP_12"],
    evaluate: (c) => {
      if (str(c.body.datapath_provider) === "ADVANCED_DATAPATH") return pass("Dataplane V2 enforces network policy");
      return bool(block(c.body, "network_policy")?.enabled) === true ? pass("network policy enforced") : fail("no network policy enforcement: every pod can reach every other runner's pods");
    },
  },
  {
    id: "HIPAA-GKE-RELEASE-CHANNEL",
    title: "GKE clusters follow the STABLE or REGULAR release channel (patched automatically, GA versions only)",
    severity: "medium",
    controls: [Cfr.INTEGRITY],
    resourceTypes: ["google_container_cluster"],
    fix: "release_channel { channel = \"REGULAR\" } (or \"STABLE\")",
    equivalents: ["CKV_GCP_70"],
    kics: [{ id: "c1701dcf-24df-4675-b863-340233c4e34f", name: "Beta - Ensure GKE Version Management Is Automated Using Release Channels" }],
    evaluate: (c) => {
      const channel = str(block(c.body, "release_channel")?.channel);
      if (channel === "STABLE" || channel === "REGULAR") return pass(`release channel ${channel}`);
      return fail(channel ? `release channel ${channel} (RAPID ships pre-GA versions, UNSPECIFIED and EXTENDED leave upgrades to people)` : "no release channel: security patches depend on manual upgrades");
    },
  },
  {
    id: "HIPAA-GKE-MONITORING",
    title: "GKE clusters send metrics to Cloud Monitoring",
    severity: "medium",
    controls: [Cfr.ACTIVITY_REVIEW],
    resourceTypes: ["google_container_cluster"],
    fix: "leave monitoring_service at monitoring.googleapis.com/kubernetes (the default)",
    equivalents: ["CKV_GCP_8"],
    kics: [{ id: "30e8dfd2-3591-4d19-8d11-79e93106c93d", name: "Stackdriver Monitoring Disabled" }],
    evaluate: (c) => {
      const service = str(c.body.monitoring_service);
      // "monitoring.googleapis.com" is legacy Stackdriver, decommissioned in 2021: no metrics arrive.
      return service === "none" || service === "monitoring.googleapis.com" ? fail(`monitoring_service is ${service}`) : pass(`monitoring ${service ?? "monitoring.googleapis.com/kubernetes (default)"}`);
    },
  },
  {
    id: "HIPAA-GKE-MASTER-AUTHORIZED-NETWORKS",
    title: "GKE clusters restrict the control plane to authorized networks",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["google_container_cluster"],
    fix: "master_authorized_networks_config { cidr_blocks { ... } } (an empty list admits no external address)",
    equivalents: ["CKV_GCP_20"],
    evaluate: (c) => (block(c.body, "master_authorized_networks_config") || c.body.master_authorized_networks_config !== undefined ? pass("authorized networks configured") : fail("no master_authorized_networks_config: the control plane accepts any source address")),
  },
  {
    id: "HIPAA-GKE-CONTROL-PLANE-NOT-OPEN",
    title: "GKE authorized networks do not include 0.0.0.0/0",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["google_container_cluster"],
    fix: "list only the administrators' networks in master_authorized_networks_config",
    equivalents: ["CKV_GCP_18"],
    evaluate: (c) => {
      const cidrs = blocks(block(c.body, "master_authorized_networks_config")?.cidr_blocks).map((b) => str(b.cidr_block));
      return cidrs.includes("0.0.0.0/0") ? fail("0.0.0.0/0 is an authorized network: the control plane is open to the internet") : pass("no open authorized network");
    },
  },
  {
    id: "HIPAA-GKE-BINARY-AUTHORIZATION",
    title: "GKE clusters enforce Binary Authorization (only attested images run)",
    severity: "high",
    controls: [Cfr.INTEGRITY],
    resourceTypes: ["google_container_cluster"],
    fix: "binary_authorization { evaluation_mode = \"PROJECT_SINGLETON_POLICY_ENFORCE\" }",
    equivalents: ["CKV_GCP_66"],
    evaluate: (c) => {
      const mode = block(c.body, "binary_authorization")?.evaluation_mode;
      if (str(mode) === "PROJECT_SINGLETON_POLICY_ENFORCE" || bool(mode) === true || bool(c.body.enable_binary_authorization) === true) return pass("Binary Authorization enforced");
      return fail(`Binary Authorization is ${str(mode) ?? "off"}: any image can run on the runners`);
    },
  },
  {
    id: "HIPAA-GKE-INTRANODE-VISIBILITY",
    title: "GKE clusters route pod-to-pod traffic through the VPC (intranode visibility) so flow logs record it",
    severity: "low",
    controls: [Cfr.AUDIT_CONTROLS],
    resourceTypes: ["google_container_cluster"],
    fix: "enable_intranode_visibility = true",
    equivalents: ["CKV_GCP_61"],
    evaluate: (c) => (bool(c.body.enable_intranode_visibility) === true ? pass("intranode visibility on") : fail("traffic between pods on one node never reaches VPC flow logs")),
  },
  {
    id: "HIPAA-GKE-PRIVATE-ENDPOINT",
    title: "GKE clusters have private nodes and a private control-plane endpoint",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["google_container_cluster"],
    fix: "private_cluster_config { enable_private_nodes = true, enable_private_endpoint = true }",
    equivalents: [],
    kics: [{ id: "6ccb85d7-0420-4907-9380-50313f80946b", name: "Private Cluster Disabled" }],
    evaluate: (c) => {
      const p = block(c.body, "private_cluster_config");
      if (bool(p?.enable_private_nodes) !== true) return fail("nodes have public addresses");
      return bool(p?.enable_private_endpoint) === true ? pass("private nodes and endpoint") : fail("the control plane has a public endpoint");
    },
  },
  {
    id: "HIPAA-GKE-SECURE-BOOT",
    title: "GKE nodes boot with Secure Boot",
    severity: "medium",
    controls: [Cfr.INTEGRITY],
    resourceTypes: ["google_container_cluster", "google_container_node_pool"],
    fix: "node_config { shielded_instance_config { enable_secure_boot = true } } (the provider default is false)",
    equivalents: ["CKV_GCP_68"],
    evaluate: (r) => {
      const n = nodeConfig(r);
      if (!n) return undefined;
      return bool(block(n, "shielded_instance_config")?.enable_secure_boot) === true ? pass("Secure Boot") : fail("Secure Boot is off (the default): unsigned boot components can run");
    },
  },
  {
    id: "HIPAA-GKE-INTEGRITY-MONITORING",
    title: "GKE nodes keep integrity monitoring on",
    severity: "medium",
    controls: [Cfr.INTEGRITY],
    resourceTypes: ["google_container_cluster", "google_container_node_pool"],
    fix: "node_config { shielded_instance_config { enable_integrity_monitoring = true } } (the default)",
    equivalents: ["CKV_GCP_72"],
    kics: [{ id: "4b5ee6a4-5682-4725-8a7a-d9e9a51986c8", name: "Beta - Shielded GKE Node Do Not Have Integrity Monitoring Enabled" }],
    evaluate: (r) => {
      const n = nodeConfig(r);
      if (!n) return undefined;
      return bool(block(n, "shielded_instance_config")?.enable_integrity_monitoring) === false ? fail("integrity monitoring is off") : pass("integrity monitoring on");
    },
  },
  // --- Cloud KMS, Artifact Registry, project IAM, Cloud Storage ---
  {
    id: "HIPAA-KMS-GCP-PREVENT-DESTROY",
    title: "Cloud KMS keys are protected from destruction by Terraform (prevent_destroy)",
    severity: "high",
    controls: [Cfr.INTEGRITY],
    resourceTypes: ["google_kms_crypto_key"],
    // Destroying a key's versions makes everything it encrypted (evidence, node disks, secrets)
    // unreadable and its name can never be reused: a plan must not be able to do it.
    fix: "lifecycle { prevent_destroy = true }",
    equivalents: ["CKV_GCP_82"],
    evaluate: (k) => (bool(block(k.body, "lifecycle")?.prevent_destroy) === true ? pass("prevent_destroy") : fail("a plan can destroy the key and every version with it")),
  },
  noPublicMembers("HIPAA-KMS-GCP-NO-PUBLIC-MEMBERS", "Cloud KMS key", ["google_kms_crypto_key_iam_member", "google_kms_crypto_key_iam_binding"], "CKV_GCP_112"),
  noPublicMembers("HIPAA-ARTIFACT-REGISTRY-NO-PUBLIC-MEMBERS", "Artifact Registry repository", ["google_artifact_registry_repository_iam_member", "google_artifact_registry_repository_iam_binding"], "CKV_GCP_101"),
  {
    id: "HIPAA-GCP-NO-BASIC-ROLES",
    title: "No basic role (owner, editor, viewer) is granted at project level",
    severity: "high",
    controls: [Cfr.ACCESS_MANAGEMENT],
    resourceTypes: ["google_project_iam_member", "google_project_iam_binding"],
    fix: "grant predefined or custom roles scoped to the job",
    equivalents: ["CKV_GCP_117"],
    evaluate: (r) => {
      const role = str(r.body.role);
      return role && ["roles/owner", "roles/editor", "roles/viewer"].includes(role) ? fail(`${role} grants every service in the project`) : pass(`role ${role ?? "(expression)"}`);
    },
  },
  {
    id: "HIPAA-GCP-NO-PROJECT-SA-IMPERSONATION",
    title: "Service Account User and Token Creator are never granted at project level",
    severity: "high",
    controls: [Cfr.ACCESS_MANAGEMENT],
    resourceTypes: ["google_project_iam_member", "google_project_iam_binding"],
    fix: "grant roles/iam.serviceAccountUser or serviceAccountTokenCreator on the one service account, not on the project",
    // KICS c68b4e6d / 617ef6ff judge only serviceAccount: members: not claimed (narrower).
    equivalents: ["CKV_GCP_41"],
    evaluate: (r) => {
      const role = str(r.body.role);
      return role === "roles/iam.serviceAccountUser" || role === "roles/iam.serviceAccountTokenCreator" ? fail(`${role} at project level lets the member act as every service account in the project`) : pass(`role ${role ?? "(expression)"}`);
    },
  },
  {
    id: "HIPAA-GCP-SA-NO-ADMIN-ROLE",
    title: "User-managed service accounts hold no admin, editor or owner role at project level",
    severity: "high",
    controls: [Cfr.ACCESS_MANAGEMENT],
    resourceTypes: ["google_project_iam_member"],
    fix: "grant the service account the narrowest predefined role its job needs",
    equivalents: ["CKV_GCP_42"],
    evaluate: (r) => {
      const member = str(r.body.member) ?? "";
      const role = str(r.body.role) ?? "";
      return USER_MANAGED_SA.test(member) && ADMIN_ROLE.test(role) ? fail(`${member} holds ${role}`) : pass("no administrative role for a service account");
    },
  },
  {
    id: "HIPAA-GCS-NO-SELF-LOGGING",
    title: "A bucket's usage logs go to another bucket",
    severity: "medium",
    controls: [Cfr.AUDIT_CONTROLS],
    resourceTypes: ["google_storage_bucket"],
    fix: "logging { log_bucket = <a separate log bucket> }",
    equivalents: ["CKV_GCP_63"],
    evaluate: (b, index) => {
      const logging = block(b.body, "logging");
      if (!logging) return undefined;
      const target = logging.log_bucket;
      const self = target === b.body.name || index.resolve(target)?.address === b.address;
      return self ? fail("the bucket logs to itself: every log write is itself logged, and whoever can change the bucket can change its log") : pass("logs go to another bucket");
    },
  },
  // --- AWS ---
  {
    id: "HIPAA-EC2-EBS-ENCRYPTED",
    title: "EC2 instances and launch configurations encrypt every EBS volume",
    severity: "high",
    controls: [Cfr.ENCRYPTION],
    resourceTypes: ["aws_instance", "aws_launch_configuration"],
    fix: "root_block_device { encrypted = true } and encrypted = true on every ebs_block_device",
    equivalents: ["CKV_AWS_8"],
    kics: [{ id: "1f624961-9a18-4387-91c8-3856e1974b6f", name: "Block Device Is Not Encrypted" }],
    evaluate: (r) => blockDeviceEncryption(r),
  },
  {
    id: "HIPAA-EC2-NO-PUBLIC-IP",
    title: "EC2 instances and launch templates do not assign public IP addresses",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["aws_instance", "aws_launch_template"],
    fix: "associate_public_ip_address = false (instances) / network_interfaces { associate_public_ip_address = false } (launch templates); reach the nodes through private subnets",
    // KICS 5a2486aa also fails an instance that leaves the attribute unset (the subnet decides):
    // not claimed.
    equivalents: ["CKV_AWS_88"],
    evaluate: (r) => {
      const value = r.type === "aws_instance" ? r.body.associate_public_ip_address : block(r.body, "network_interfaces")?.associate_public_ip_address;
      return bool(value) === true ? fail("a public IP address is assigned") : pass("no public IP requested");
    },
  },
  {
    id: "HIPAA-LAUNCH-CONFIGURATION-NO-PUBLIC-IP",
    title: "Launch configurations do not assign public IP addresses",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["aws_launch_configuration"],
    fix: "associate_public_ip_address = false",
    equivalents: ["CKV_AWS_389"],
    evaluate: (r) => (bool(r.body.associate_public_ip_address) === true ? fail("a public IP address is assigned") : pass("no public IP requested")),
  },
  {
    id: "HIPAA-IAM-TRUST-NO-WILDCARD-PRINCIPAL",
    title: "No role trusts every AWS principal (Principal AWS \"*\")",
    severity: "critical",
    controls: [Cfr.AUTHENTICATION, Cfr.ACCESS_MANAGEMENT],
    resourceTypes: ["aws_iam_role"],
    fix: "name the accounts, roles or federated providers that may assume the role",
    equivalents: ["CKV_AWS_60"],
    kics: [{ id: "12b7e704-37f0-4d1e-911a-44bf60c48c21", name: "IAM Role Allows All Principals To Assume" }],
    evaluate: (role, index) => {
      const statements = trustStatements(role, index);
      if (!statements) return undefined;
      return statements.some((s) => awsPrincipals(s).includes("*")) ? fail("any AWS principal in any account can assume the role") : pass("named principals only");
    },
  },
  {
    id: "HIPAA-IAM-TRUST-NO-ACCOUNT-ROOT",
    title: "No role trusts a whole AWS account (its root principal)",
    severity: "high",
    controls: [Cfr.ACCESS_MANAGEMENT],
    resourceTypes: ["aws_iam_role"],
    fix: "trust the specific role ARNs that need the role, not arn:aws:iam::ACCOUNT:root",
    equivalents: ["CKV_AWS_61"],
    evaluate: (role, index) => {
      const statements = trustStatements(role, index);
      if (!statements) return undefined;
      // An account root narrowed by ArnEquals aws:PrincipalArn to exact ARNs of that account's
      // principals trusts those principals only (the form that survives their re-creation).
      const root = statements.filter((s) => !pinsPrincipalArns(s)).flatMap(awsPrincipals).find((p) => ACCOUNT_PRINCIPAL.test(p));
      return root ? fail(`${root} lets every principal of that account that holds sts:AssumeRole assume the role`) : pass("no account-wide trust");
    },
  },
  {
    id: "HIPAA-IAM-NO-ADMIN-POLICY",
    title: "No policy allows every action on every resource (\"*\" on \"*\")",
    severity: "critical",
    controls: [Cfr.ACCESS_MANAGEMENT],
    resourceTypes: ["aws_iam_role_policy", "aws_iam_policy"],
    fix: "list the actions and resources the role needs",
    equivalents: ["CKV_AWS_62"],
    kics: [{ id: "575a2155-6af1-4026-b1af-d5bc8fe2a904", name: "IAM Policy Grants Full Permissions" }],
    evaluate: (p, index) => {
      const statements = policyStatements(p.body.policy, index);
      if (!statements) return undefined;
      const admin = statements.find((s) => (s.Effect ?? "Allow") === "Allow" && strings(s.Action).includes("*") && strings(s.Resource).includes("*"));
      return admin ? fail(`statement ${admin.Sid ?? "(no Sid)"} allows * on *: full administrator`) : pass("no full-administrator statement");
    },
  },
  {
    id: "HIPAA-EKS-NODE-GROUP-NO-OPEN-SSH",
    title: "EKS node groups with an SSH key restrict SSH to named security groups",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["aws_eks_node_group"],
    // KICS ba40ace1 reads "source_security_groups_ids", an attribute the provider does not have,
    // so it fails every node group with an SSH key: not claimed.
    fix: "remove remote_access (HIPAA-EKS-NODE-GROUP-HARDENED) or set remote_access { source_security_group_ids = [...] }",
    equivalents: ["CKV_AWS_100"],
    evaluate: (g) => {
      const remote = block(g.body, "remote_access");
      if (!remote || remote.ec2_ssh_key === undefined) return pass("no SSH key on the nodes");
      return remote.source_security_group_ids !== undefined ? pass("SSH limited to named security groups") : fail("an SSH key without source_security_group_ids opens port 22 to 0.0.0.0/0");
    },
  },
  {
    id: "HIPAA-KMS-EXPLICIT-POLICY",
    title: "AWS KMS keys carry an explicit key policy",
    severity: "medium",
    controls: [Cfr.ACCESS_MANAGEMENT],
    resourceTypes: ["aws_kms_key"],
    // Without one, KMS applies the default policy: every IAM principal of the account whose IAM
    // policy allows kms:* may use and manage the key, so who can decrypt PHI is decided elsewhere.
    fix: "set policy on the key (or an aws_kms_key_policy) naming administrators and users",
    equivalents: ["CKV2_AWS_64"],
    evaluate: (k, index) => (k.body.policy !== undefined || index.companions(k, "aws_kms_key_policy").length > 0 ? pass("explicit key policy") : fail("the default key policy delegates the key to every IAM policy in the account")),
  },
  ...ESCALATION_PATHS.map(([kicsId, actions]) => privilegeEscalation(actions, kicsId)),
  s3PublicAction("HIPAA-S3-NO-PUBLIC-PRINCIPAL", "any action", () => true, { id: "7af43613-6bb9-4a0e-8c4d-1314b799425e", name: "S3 Bucket Access to Any Principal" }),
  s3PublicAction("HIPAA-S3-NO-PUBLIC-ALL-ACTIONS", "every action (\"*\")", (a) => a.includes("*"), { id: "a4966c4f-9141-48b8-a564-ffe9959945bc", name: "S3 Bucket With All Permissions" }),
  s3PublicAction("HIPAA-S3-NO-PUBLIC-GET", "Get actions", (a) => a.includes("get"), { id: "1df37f4b-7197-45ce-83f8-9994d2fcf885", name: "S3 Bucket Allows Get Action From All Principals" }),
  s3PublicAction("HIPAA-S3-NO-PUBLIC-LIST", "List actions", (a) => a.includes("list"), { id: "66c6f96f-2d9e-417e-a998-9058aeeecd44", name: "S3 Bucket Allows List Action From All Principals" }),
  s3PublicAction("HIPAA-S3-NO-PUBLIC-PUT", "Put actions", (a) => a.includes("put"), { id: "d24c0755-c028-44b1-b503-8e719c898832", name: "S3 Bucket Allows Put Action From All Principals" }),
  s3PublicAction("HIPAA-S3-NO-PUBLIC-DELETE", "Delete actions", (a) => a.includes("delete"), { id: "ffdf4b37-7703-4dfe-a682-9d2e99bc6c09", name: "S3 Bucket Allows Delete Action From All Principals" }),
];
