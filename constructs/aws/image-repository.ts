import { Construct } from "constructs";
import { EcrLifecyclePolicy } from "@cdktf/provider-aws/lib/ecr-lifecycle-policy";
import { EcrRepository } from "@cdktf/provider-aws/lib/ecr-repository";
import { EcrRepositoryPolicy } from "@cdktf/provider-aws/lib/ecr-repository-policy";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { Lazy, Token } from "cdktf";
import { HipaaConfigError } from "../../src/errors";
import { assertSameEnvironment, Environment } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";
import { AwsAccountContext } from "./account-context";
import { PolicyDocument, PolicyStatement, sidFrom } from "./iam-policy";
import { kmsAdministrationStatement, KMS_DELETION_WINDOW_DAYS } from "./kms-policy";
import { IAwsPrincipal } from "./principal";

export interface ImageRepositoryProps {
  /** The environment whose images the repository holds. */
  readonly environment: Environment;
  /** The ECR repository name, e.g. `clinical-platform` or `clinical/platform`. */
  readonly repositoryName: string;
  /**
   * Roles (IAM ARNs) that pull images: the environment's workload cluster nodes. When given, every
   * other principal is denied pulls by the repository policy (the build pool keeps pull, for layer
   * reuse); when empty, pulls are governed by IAM policies in the account alone.
   * @default - none
   */
  readonly pullerArns?: readonly string[];
  /**
   * Key for the images at rest.
   * @default - a new rotating customer-managed key usable only through ECR in this account
   */
  readonly encryptionKey?: KmsKey;
  /**
   * Days after which untagged images (superseded layers of re-built tags, failed pushes) expire.
   * Tagged images, and the `sha256-*.sig` / `.att` tags cosign writes, never expire by this rule.
   * @default 14
   */
  readonly untaggedExpiryDays?: number;
}

/** What the build pool may do; what every other principal is denied. */
export const ECR_PUSH_ACTIONS = ["ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"];
export const ECR_PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];

const REPOSITORY_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

/**
 * An ECR repository for one application in one environment: tags immutable (a released tag
 * always names the digest that was signed and scanned), scan on push, images encrypted with a
 * customer-managed KMS key, untagged images expired, and a repository policy under which only
 * the principals granted push (the environment's build pool) can push, and, once pullers are
 * named, only they (the workload cluster's nodes) can pull.
 */
export class ImageRepository extends Construct {
  public readonly environment: Environment;
  public readonly repository: EcrRepository;
  public readonly repositoryArn: string;
  public readonly repositoryUrl: string;
  public readonly repositoryName: string;
  public readonly encryptionKey: KmsKey;
  public readonly policy: EcrRepositoryPolicy;

  private readonly pushers: IAwsPrincipal[] = [];
  private readonly pullerArns: string[];

  constructor(scope: Construct, id: string, props: ImageRepositoryProps) {
    super(scope, id);
    const path = this.node.path;
    validateRepository(path, props);
    this.environment = props.environment;
    this.repositoryName = props.repositoryName;
    this.pullerArns = [...(props.pullerArns ?? [])];
    const env = props.environment.name;
    const account = AwsAccountContext.of(this);

    this.encryptionKey = props.encryptionKey ?? this.createKey(account);
    this.repository = new EcrRepository(this, "Repository", {
      name: props.repositoryName,
      // A pushed tag can never be moved to other content: the digest that was scanned, signed and
      // approved is the one every later pull of the tag gets.
      imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: [{ encryptionType: "KMS", kmsKey: this.encryptionKey.arn }],
      forceDelete: false,
      tags: { Environment: env, Purpose: "HIPAA application images" },
    });
    this.repositoryArn = this.repository.arn;
    this.repositoryUrl = this.repository.repositoryUrl;

    const days = props.untaggedExpiryDays ?? 14;
    const lifecycle = new EcrLifecyclePolicy(this, "Lifecycle", {
      repository: this.repository.name,
      policy: JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            description: `Expire untagged images after ${days} days`,
            selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: days },
            action: { type: "expire" },
          },
        ],
      }),
    });
    this.policy = new EcrRepositoryPolicy(this, "Policy", {
      repository: this.repository.name,
      policy: Lazy.stringValue({ produce: () => this.renderPolicy() }),
    });

    recordControl(this, {
      section: Cfr.INTEGRITY,
      resources: [this.repository, this.policy],
      how: `Images of ${props.repositoryName} in ${env}: tags immutable, scanned on push; only the build pool may push${this.pullerArns.length ? " and only the workload nodes may pull" : ""}.`,
    });
    recordControl(this, { section: Cfr.ENCRYPTION, resources: [this.repository, this.encryptionKey], how: "Images encrypted at rest with a customer-managed KMS key." });
    recordControl(this, { section: Cfr.ACCESS_CONTROL, resources: [this.policy, lifecycle], how: "The repository policy denies push to every principal but the environment's build pool." });
  }

  /**
   * Lets `principal` push (and pull, for layer reuse). Every principal not granted push is denied
   * it by the repository policy, so the build pool's role is the only pusher. (The pool's identity
   * policy gets the matching Allow from RunnerPool's `ecrRepositoryArns`.)
   */
  public grantPush(principal: IAwsPrincipal): void {
    assertSameEnvironment(this.node.path, this.environment, principal);
    if (this.pushers.some((p) => p.principalArn === principal.principalArn)) return;
    this.pushers.push(principal);
  }

  /** The principals granted push. */
  public get pusherArns(): readonly string[] {
    return this.pushers.map((p) => p.principalArn);
  }

  private renderPolicy(): string {
    const pushers = this.pusherArns;
    const statements: PolicyStatement[] = [
      {
        sid: "DenyPushExceptBuildPool",
        effect: "Deny",
        principals: "*",
        actions: ECR_PUSH_ACTIONS,
        ...(pushers.length > 0 ? { conditions: { StringNotEquals: { "aws:PrincipalArn": pushers } } } : {}),
      },
    ];
    if (this.pullerArns.length > 0) {
      statements.push({
        sid: "DenyPullExceptWorkloadNodesAndBuildPool",
        effect: "Deny",
        principals: "*",
        actions: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        conditions: { StringNotEquals: { "aws:PrincipalArn": [...this.pullerArns, ...pushers] } },
      });
      statements.push({ sid: "WorkloadNodesPull", effect: "Allow", principals: { AWS: this.pullerArns }, actions: ECR_PULL_ACTIONS });
    }
    this.pushers.forEach((p) =>
      statements.push({ sid: sidFrom("Push", p.grantName), effect: "Allow", principals: { AWS: [p.principalArn] }, actions: [...ECR_PULL_ACTIONS, ...ECR_PUSH_ACTIONS] }),
    );
    return new PolicyDocument(`${this.node.path}/Policy`, statements).render();
  }

  private createKey(account: AwsAccountContext): KmsKey {
    // A key of the registry's own rather than the evidence key: the evidence key's policy names
    // exactly who writes and reads evidence, and the signing key cannot encrypt. ECR uses the key
    // through grants it creates as the caller of CreateRepository; the ViaService condition keeps
    // any other use of the key by principals of the account impossible.
    const policy = new PolicyDocument(`${this.node.path}/Key`, [
      kmsAdministrationStatement([account.accountRootArn]),
      {
        sid: "UseThroughEcrOnly",
        effect: "Allow",
        principals: { AWS: [account.accountRootArn] },
        actions: ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:RetireGrant"],
        resources: ["*"],
        conditions: { StringEquals: { "kms:ViaService": `ecr.${account.region}.amazonaws.com`, "kms:CallerAccount": account.accountId } },
      },
    ]);
    const key = new KmsKey(this, "Key", {
      description: `ECR image encryption for ${this.repositoryName} in ${this.environment.name} (45 CFR 164.312(a)(2)(iv))`,
      enableKeyRotation: true,
      deletionWindowInDays: KMS_DELETION_WINDOW_DAYS,
      policy: policy.toJson(),
      tags: { Purpose: "HIPAA image encryption", Environment: this.environment.name },
      // Deleting the key makes every signed, approved image in the repository unreadable.
      lifecycle: { preventDestroy: true },
    });
    new KmsAlias(this, "KeyAlias", { name: `alias/hipaa-images-${this.environment.name}-${this.repositoryName.replace(/[^A-Za-z0-9_-]/g, "-")}`.slice(0, 256), targetKeyId: key.keyId });
    return key;
  }
}

function validateRepository(path: string, props: ImageRepositoryProps): void {
  const name = props.repositoryName;
  if (!Token.isUnresolved(name) && (name.length < 2 || name.length > 256 || !REPOSITORY_NAME.test(name))) {
    throw new HipaaConfigError({
      path,
      problem: `repositoryName ${JSON.stringify(name)} is not an ECR repository name`,
      fix: "use 2-256 lowercase letters, digits and . _ - / separators, e.g. clinical-platform",
    });
  }
  const days = props.untaggedExpiryDays;
  if (days !== undefined && !(Number.isInteger(days) && days >= 1 && days <= 3650)) {
    throw new HipaaConfigError({ path, problem: `untaggedExpiryDays ${days} is not a whole number of days from 1 to 3650`, fix: "leave it unset (14) or pass e.g. 30" });
  }
  for (const arn of props.pullerArns ?? []) {
    if (!Token.isUnresolved(arn) && (/[*?]/.test(arn) || !/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]+$/.test(arn))) {
      throw new HipaaConfigError({
        path,
        problem: `puller ${JSON.stringify(arn)} is not one IAM role ARN`,
        cfr: Cfr.ACCESS_CONTROL,
        fix: "name the workload cluster's node roles exactly, e.g. arn:aws:iam::111122223333:role/clinical-production-nodes",
      });
    }
  }
}
