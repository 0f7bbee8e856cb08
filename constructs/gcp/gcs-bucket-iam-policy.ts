import { Construct } from "constructs";
import { Lazy } from "cdktf";
import { DataGoogleIamPolicy } from "@cdktf/provider-google/lib/data-google-iam-policy";
import { StorageBucketIamPolicy } from "@cdktf/provider-google/lib/storage-bucket-iam-policy";
import { HipaaConfigError } from "../../src/errors";
import { assertSameEnvironment, Environment, validateEvidencePrefix } from "../../src/model";
import { Cfr } from "../../src/compliance";
import { IGcpPrincipal } from "./principal";

/** One binding of an authoritative policy, as the google_iam_policy data source takes it. */
export interface GcsPolicyBinding {
  readonly role: string;
  readonly members: readonly string[];
  readonly condition?: { readonly title: string; readonly description: string; readonly expression: string };
}

/** Roles a principal of another project may hold on an archive bucket. */
const GRANTABLE = new Set(["roles/storage.objectCreator", "roles/storage.objectViewer"]);

export interface GcsBucketIamPolicyProps {
  /** The bucket's literal name (conditions name it; a token would hide it from review). */
  readonly bucketName: string;
  /** The environment whose principals may be granted; none for a bucket of no environment. */
  readonly environment?: Environment;
}

/**
 * The whole IAM policy of a bucket (`google_storage_bucket_iam_policy`), not one member or one
 * role: GCS gives every new bucket `roles/storage.legacyBucketOwner` for `projectOwner:` and
 * `projectEditor:` and reader roles for `projectViewer:`, the convenience bindings through which
 * a project editor could set the bucket's IAM. `google_storage_bucket_iam_binding` is
 * authoritative only for the roles it names and leaves those legacy roles in place; a policy
 * replaces them all, and Terraform reports any binding added outside it as drift.
 *
 * Nothing else may manage this bucket's IAM (a `google_storage_bucket_iam_member` beside it
 * would be removed on each apply of the policy). Grants are collected and rendered when the stack
 * synthesizes, sorted, so adding one never reorders the others.
 */
export class GcsBucketIamPolicy extends Construct {
  public readonly bucketName: string;
  public readonly policy: StorageBucketIamPolicy;
  private readonly environment?: Environment;
  private readonly bindings = new Map<string, { role: string; members: Set<string>; condition?: GcsPolicyBinding["condition"] }>();

  constructor(scope: Construct, id: string, props: GcsBucketIamPolicyProps) {
    super(scope, id);
    this.bucketName = props.bucketName;
    this.environment = props.environment;
    const data = new DataGoogleIamPolicy(this, "Data", { binding: Lazy.anyValue({ produce: () => this.renderBindings() }) as any });
    this.policy = new StorageBucketIamPolicy(this, "Policy", { bucket: props.bucketName, policyData: data.policyData });
  }

  /** Create-only (roles/storage.objectCreator), under `prefix` when given (an IAM condition). */
  public grantWrite(principal: IGcpPrincipal, options: { readonly prefix?: string } = {}): void {
    this.assertPrincipal(principal);
    if (options.prefix === undefined) {
      this.add("roles/storage.objectCreator", principal.member);
      return;
    }
    validateEvidencePrefix(this.node.path, options.prefix, "object-name prefix");
    // objectCreator cannot overwrite (that needs storage.objects.delete, which Bucket Lock
    // forbids anyway); the condition confines the writer to its prefix.
    this.add("roles/storage.objectCreator", principal.member, {
      title: `evidence-prefix-${options.prefix.replace(/[^A-Za-z0-9]+/g, "-").replace(/-+$/, "")}`.slice(0, 100),
      description: `Only objects under ${options.prefix}`,
      expression: `resource.name.startsWith("projects/_/buckets/${this.bucketName}/objects/${options.prefix}")`,
    });
  }

  /** View-only (roles/storage.objectViewer). */
  public grantRead(principal: IGcpPrincipal): void {
    this.assertPrincipal(principal);
    this.add("roles/storage.objectViewer", principal.member);
  }

  /** A role for a Google-managed member that belongs to no environment (usage-log delivery). */
  public grantService(role: string, member: string): void {
    this.add(role, member);
  }

  /** The bindings as rendered, for tests and the control map. */
  public renderBindings(): GcsPolicyBinding[] {
    return [...this.bindings.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, b]) => ({ role: b.role, members: [...b.members].sort(), ...(b.condition ? { condition: b.condition } : {}) }));
  }

  private assertPrincipal(principal: IGcpPrincipal): void {
    if (this.environment) assertSameEnvironment(this.node.path, this.environment, principal);
  }

  private add(role: string, member: string, condition?: GcsPolicyBinding["condition"]): void {
    if (!GRANTABLE.has(role) && !member.startsWith("group:cloud-storage-analytics@")) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: `role ${role} on bucket ${this.bucketName} would let ${member} do more than create or view objects`,
        cfr: Cfr.AUDIT_CONTROLS,
        fix: "grant writers roles/storage.objectCreator and auditors roles/storage.objectViewer; bucket administration stays with the project's break-glass owner",
      });
    }
    const key = `${role} ${condition?.expression ?? ""}`;
    const binding = this.bindings.get(key) ?? { role, members: new Set<string>(), condition };
    binding.members.add(member);
    this.bindings.set(key, binding);
  }
}
