import { Construct } from "constructs";
import { Cfr, recordControl } from "../../src/compliance";
import { IEvidenceBucket } from "./evidence-bucket";
import { PolicyStatement } from "./iam-policy";
import { ScopedRole } from "./scoped-role";

export interface EvidenceWriterRoleProps {
  /** The bucket the role writes to; the role acts in the bucket's environment. */
  readonly bucket: IEvidenceBucket;
  /** Who may assume it: a GitHub/GitLab OIDC trust or an IRSA trust (see role-trust helpers). */
  readonly trust: PolicyStatement;
  /** @default `hipaa-ENV-evidence-writer` */
  readonly roleName?: string;
  /** @default - none */
  readonly permissionsBoundaryArn?: string;
  /** Statement-id name, unique per bucket. @default "EvidenceWriter" */
  readonly grantName?: string;
  /**
   * The key prefix the role may write under, e.g. `clinical-platform/production/`, so one
   * repository's pipeline can never add evidence at another repository's keys.
   * @default - the whole bucket
   */
  readonly prefix?: string;
}

/**
 * The role CI assumes to emit evidence. Its only permissions come from the bucket's
 * `grantWrite`: put objects and the KMS rights to encrypt them. It cannot read, list, delete,
 * or change retention or legal holds.
 */
export class EvidenceWriterRole extends ScopedRole {
  constructor(scope: Construct, id: string, props: EvidenceWriterRoleProps) {
    super(scope, id, {
      environment: props.bucket.environment,
      grantName: props.grantName ?? "EvidenceWriter",
      description: `Writes pipeline evidence to the ${props.bucket.environment.name} evidence bucket; put-only`,
      trust: props.trust,
      roleName: props.roleName,
      permissionsBoundaryArn: props.permissionsBoundaryArn,
    });
    props.bucket.grantWrite(this, { prefix: props.prefix });
    recordControl(this, {
      section: Cfr.AUDIT_CONTROLS,
      resources: [this.role],
      how: `CI writes evidence through a put-only role${props.prefix ? ` confined to ${props.prefix}` : ""}: new keys only (If-None-Match), no read, delete or retention change.`,
    });
  }
}
