import { Token } from "cdktf";
import { HipaaConfigError } from "../../src/errors";
import { assertSameEnvironment, Environment, validateEvidencePrefix } from "../../src/model";
import { Cfr } from "../../src/compliance";
import { EvidenceWriteOptions, evidenceWriteGrants, IEvidenceBucket } from "./evidence-bucket";
import { sidFrom } from "./iam-policy";
import { IAwsPrincipal } from "./principal";

export interface ArchivedEvidenceBucketProps {
  /** The environment whose evidence the bucket holds. */
  readonly environment: Environment;
  /** The bucket's name (AwsArchiveStack's `evidenceBucketName`). */
  readonly bucketName: string;
  /** The archive account that owns the bucket and its key (12 digits). */
  readonly archiveAccountId: string;
  /** The archive's region (the key's, for the S3 `kms:ViaService`). */
  readonly region: string;
  /** @default "aws" */
  readonly partition?: string;
}

/**
 * An evidence bucket of the archive account, as an environment account sees it: no resources,
 * only the identity side of a cross-account put-only grant. The archive's bucket and key
 * policies carry the resource side (EvidenceBucket.grantWriteFromAccount); both are needed.
 *
 * Every statement pins `s3:ResourceAccount` to the archive account, so a bucket of the same
 * name in anyone else's account (claimed first, or after a deletion) never receives evidence.
 * The key is named by the archive account and a wildcard key id (the id is random and lives in
 * the archive's state), narrowed to S3 encrypting for this one bucket.
 */
export class ArchivedEvidenceBucket implements IEvidenceBucket {
  public readonly environment: Environment;
  public readonly bucketName: string;
  public readonly bucketArn: string;
  public readonly archiveAccountId: string;
  private readonly region: string;
  private readonly partition: string;

  constructor(props: ArchivedEvidenceBucketProps) {
    const where = `ArchivedEvidenceBucket ${props.bucketName}`;
    if (!/^\d{12}$/.test(props.archiveAccountId)) {
      throw new HipaaConfigError({ path: where, problem: `archive account ${JSON.stringify(props.archiveAccountId)} is not 12 digits`, fix: "pass the archive account id" });
    }
    if (Token.isUnresolved(props.bucketName) || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(props.bucketName)) {
      throw new HipaaConfigError({ path: where, problem: "the bucket name must be a literal S3 bucket name (the archive is another stack, so a reference cannot cross)", fix: "pass AwsArchiveStack.evidenceBucketName(...)" });
    }
    this.environment = props.environment;
    this.bucketName = props.bucketName;
    this.archiveAccountId = props.archiveAccountId;
    this.region = props.region;
    this.partition = props.partition ?? "aws";
    this.bucketArn = `arn:${this.partition}:s3:::${props.bucketName}`;
  }

  /** Identity side of the put-only grant: `principal` must carry its own policy (a ScopedRole). */
  public grantWrite(principal: IAwsPrincipal, options: EvidenceWriteOptions = {}): void {
    const where = `ArchivedEvidenceBucket ${this.bucketName}`;
    assertSameEnvironment(where, this.environment, principal);
    if (!principal.addToPrincipalPolicy) {
      throw new HipaaConfigError({
        path: where,
        problem: `${principal.grantName} has no identity policy this library manages, and a cross-account write needs one`,
        cfr: Cfr.ACCESS_CONTROL,
        fix: "grant a ScopedRole (EvidenceWriterRole, a runner pod role), or allow the actions in your role's own policy",
      });
    }
    const prefix = validateEvidencePrefix(where, options.prefix);
    const sid = sidFrom("ArchiveWrite", this.environment.name);
    const inArchive = { StringEquals: { "s3:ResourceAccount": this.archiveAccountId } };
    for (const g of evidenceWriteGrants(this.bucketArn, prefix, options.anyRepository)) {
      principal.addToPrincipalPolicy({ sid: `${sid}${g.suffix}`, effect: "Allow", actions: g.actions, resources: g.resources, conditions: { ...g.conditions, ...inArchive } });
    }
    principal.addToPrincipalPolicy({
      sid: `${sid}Key`,
      effect: "Allow",
      actions: ["kms:GenerateDataKey", "kms:Decrypt"],
      resources: [`arn:${this.partition}:kms:${this.region}:${this.archiveAccountId}:key/*`],
      conditions: { StringEquals: { "kms:ViaService": `s3.${this.region}.amazonaws.com`, "kms:EncryptionContext:aws:s3:arn": this.bucketArn } },
    });
  }
}
