import { Construct } from "constructs";
import { Cfr, recordControl } from "../../src/compliance";
import { EvidenceBucket } from "./evidence-bucket";
import { accountPinnedPrincipalsTrust } from "./role-trust";
import { ScopedRole } from "./scoped-role";

export interface EvidenceAuditorRoleProps {
  /** The bucket auditors read. */
  readonly bucket: EvidenceBucket;
  /** The roles of the people who audit (for example their SSO permission-set roles). */
  readonly auditorPrincipalArns: readonly string[];
  /** @default `hipaa-ENV-evidence-auditor` */
  readonly roleName?: string;
  /** @default - none */
  readonly permissionsBoundaryArn?: string;
}

/**
 * The role auditors assume to read evidence: read and list through the bucket's `grantRead`,
 * nothing else. It cannot write, delete or change retention.
 */
export class EvidenceAuditorRole extends ScopedRole {
  constructor(scope: Construct, id: string, props: EvidenceAuditorRoleProps) {
    super(scope, id, {
      environment: props.bucket.environment,
      grantName: "EvidenceAuditor",
      description: `Reads the ${props.bucket.environment.name} evidence bucket for audits; read-only`,
      // Through their accounts, pinned by ARN: the SSO permission-set role need not exist at apply.
      trust: accountPinnedPrincipalsTrust(`${scope.node.path}/${id}`, props.auditorPrincipalArns),
      roleName: props.roleName,
      permissionsBoundaryArn: props.permissionsBoundaryArn,
    });
    props.bucket.grantRead(this);
    recordControl(this, {
      section: Cfr.ACTIVITY_REVIEW,
      resources: [this.role],
      how: "Auditors read evidence through a read-only role separate from every CI role.",
    });
  }
}
