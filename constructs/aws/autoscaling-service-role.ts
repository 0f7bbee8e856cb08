import { Construct } from "constructs";
import { DataAwsIamRole } from "@cdktf/provider-aws/lib/data-aws-iam-role";
import { IamServiceLinkedRole } from "@cdktf/provider-aws/lib/iam-service-linked-role";
import { TerraformDataSource, TerraformResource } from "cdktf";

/** The role's fixed name: EC2 Auto Scaling creates exactly one per account. */
export const AUTOSCALING_SERVICE_ROLE_NAME = "AWSServiceRoleForAutoScaling";

/**
 * The EC2 Auto Scaling service-linked role, which launches an EKS managed node group's
 * instances and so must be allowed to use the key of their encrypted volumes.
 *
 * Why it is a construct: KMS checks every principal of a key policy when the key is created, and
 * this role exists only after the account's first Auto Scaling group. In a fresh account the
 * node group that would create it needs the volume key, and the key names the role: a deadlock.
 * So the role is created here (`aws_iam_service_linked_role`), or, where it already exists,
 * looked up (`data.aws_iam_role`, which fails at plan with "role not found" instead of a KMS
 * error at apply); every volume key references `roleArn`, which orders the key after the role.
 */
export class AutoScalingServiceRole extends Construct {
  /** Creates the role: for an account that has never run an Auto Scaling group. */
  public static create(scope: Construct, id: string): AutoScalingServiceRole {
    return new AutoScalingServiceRole(scope, id, true);
  }

  /** Looks the role up: for an account where it already exists (creating it again fails). */
  public static lookUp(scope: Construct, id: string): AutoScalingServiceRole {
    return new AutoScalingServiceRole(scope, id, false);
  }

  /** The role's ARN, a reference to the resource or data source (never a literal). */
  public readonly roleArn: string;
  /** The resource or data source, for `dependsOn`. */
  public readonly element: TerraformResource | TerraformDataSource;
  public readonly created: boolean;

  private constructor(scope: Construct, id: string, create: boolean) {
    super(scope, id);
    this.created = create;
    if (create) {
      const role = new IamServiceLinkedRole(this, "Role", { awsServiceName: "autoscaling.amazonaws.com" });
      this.element = role;
      this.roleArn = role.arn;
    } else {
      const role = new DataAwsIamRole(this, "Role", { name: AUTOSCALING_SERVICE_ROLE_NAME });
      this.element = role;
      this.roleArn = role.arn;
    }
  }
}
