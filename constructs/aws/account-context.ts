import { Construct, IConstruct } from "constructs";
import { TerraformStack } from "cdktf";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { DataAwsRegion } from "@cdktf/provider-aws/lib/data-aws-region";

const ID = "HipaaAwsAccountContext";

/**
 * The account, partition and region a stack applies to, read at plan time from the provider's
 * credentials (so synthesis needs none). One per stack, shared by every construct in it.
 */
export class AwsAccountContext extends Construct {
  /** The stack's context, created on first use. */
  public static of(scope: IConstruct): AwsAccountContext {
    const stack = TerraformStack.of(scope);
    const existing = stack.node.tryFindChild(ID);
    return (existing as AwsAccountContext | undefined) ?? new AwsAccountContext(stack, ID);
  }

  public readonly accountId: string;
  public readonly partition: string;
  public readonly region: string;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    this.accountId = new DataAwsCallerIdentity(this, "Caller").accountId;
    this.partition = new DataAwsPartition(this, "Partition").partition;
    this.region = new DataAwsRegion(this, "Region").region;
  }

  /** `arn:PARTITION:iam::ACCOUNT:root`: the account itself, for key-policy lockout safety. */
  public get accountRootArn(): string {
    return `arn:${this.partition}:iam::${this.accountId}:root`;
  }
}
