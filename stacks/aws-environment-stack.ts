import { Construct } from "constructs";
import { TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { Environment } from "../src/model";
import { EvidenceBucket, EvidenceBucketProps } from "../constructs/aws/evidence-bucket";
import { SigningKey, SigningKeyProps } from "../constructs/aws/signing-key";

export interface AwsEnvironmentStackProps {
  readonly environment: Environment;
  /** AWS region of the environment's resources. */
  readonly region: string;
  /**
   * The only AWS account this stack may apply to. The provider refuses any other, so a
   * production stack cannot be applied with development credentials.
   * @default - no restriction
   */
  readonly accountId?: string;
  /** Options for the evidence bucket. @default - compliant defaults */
  readonly evidence?: Omit<EvidenceBucketProps, "environment">;
  /** Options for the signing key. @default - compliant defaults */
  readonly signing?: Omit<SigningKeyProps, "environment">;
}

/**
 * One environment's AWS substrate in its own stack (its own Terraform state, so a development
 * pipeline's state can never touch production): the evidence bucket and the cosign signing key.
 */
export class AwsEnvironmentStack extends TerraformStack {
  public readonly environment: Environment;
  public readonly evidenceBucket: EvidenceBucket;
  public readonly signingKey: SigningKey;

  constructor(scope: Construct, id: string, props: AwsEnvironmentStackProps) {
    super(scope, id);
    this.environment = props.environment;
    new AwsProvider(this, "aws", {
      region: props.region,
      allowedAccountIds: props.accountId ? [props.accountId] : undefined,
      defaultTags: [{ tags: { HipaaEnvironment: props.environment.name, ManagedBy: "cdktf-hipaa-substrate" } }],
    });
    this.evidenceBucket = new EvidenceBucket(this, "EvidenceBucket", { environment: props.environment, ...props.evidence });
    this.signingKey = new SigningKey(this, "SigningKey", { environment: props.environment, ...props.signing });
  }
}
