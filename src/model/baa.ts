import { HipaaConfigError } from "../errors";

/**
 * One cloud service the user's Business Associate Agreement covers, named the way the checker and
 * the deploy gate name it: `<cloud>:<service>` (`aws:s3`, `gcp:storage`). AWS services use their
 * IAM service prefix, GCP services their API name without `.googleapis.com`.
 */
export interface BaaService {
  /** `aws:s3`, `gcp:cloudkms`, ... */
  readonly id: string;
  /** The provider's name for it, as its HIPAA list spells it. */
  readonly name: string;
  /** Where the provider lists the service as covered (so a reviewer can re-check the claim). */
  readonly source: string;
}

const SERVICE_ID = /^(aws|gcp|azure):[a-z0-9][a-z0-9-]{0,62}$/;

// AWS: "HIPAA Eligible Services Reference", https://aws.amazon.com/compliance/hipaa-eligible-services-reference/
const AWS_ELIGIBLE = "AWS HIPAA Eligible Services Reference (aws.amazon.com/compliance/hipaa-eligible-services-reference)";
// GCP: "HIPAA compliance on Google Cloud", covered products, https://cloud.google.com/security/compliance/hipaa
const GCP_COVERED = "Google Cloud HIPAA covered products (cloud.google.com/security/compliance/hipaa)";

/**
 * The services the substrate itself builds on. Each is on its provider's HIPAA list (named in
 * `source`); identity and account control planes (IAM, STS, resource manager) hold no PHI and
 * are not judged, so they are not listed.
 */
export const SUBSTRATE_BAA_SERVICES: readonly BaaService[] = [
  { id: "aws:s3", name: "Amazon S3", source: AWS_ELIGIBLE },
  { id: "aws:kms", name: "AWS Key Management Service", source: AWS_ELIGIBLE },
  { id: "aws:eks", name: "Amazon Elastic Kubernetes Service", source: AWS_ELIGIBLE },
  { id: "aws:ec2", name: "Amazon EC2 (and Amazon EBS volumes of its instances)", source: AWS_ELIGIBLE },
  { id: "aws:ecr", name: "Amazon Elastic Container Registry", source: AWS_ELIGIBLE },
  { id: "aws:logs", name: "Amazon CloudWatch Logs", source: AWS_ELIGIBLE },
  { id: "aws:cloudtrail", name: "AWS CloudTrail", source: AWS_ELIGIBLE },
  { id: "aws:events", name: "Amazon EventBridge", source: AWS_ELIGIBLE },
  { id: "aws:sns", name: "Amazon Simple Notification Service", source: AWS_ELIGIBLE },
  { id: "gcp:storage", name: "Cloud Storage", source: GCP_COVERED },
  { id: "gcp:cloudkms", name: "Cloud Key Management Service", source: GCP_COVERED },
  { id: "gcp:container", name: "Google Kubernetes Engine", source: GCP_COVERED },
  { id: "gcp:compute", name: "Compute Engine", source: GCP_COVERED },
  { id: "gcp:artifactregistry", name: "Artifact Registry", source: GCP_COVERED },
  { id: "gcp:logging", name: "Cloud Logging (Cloud Audit Logs)", source: GCP_COVERED },
];

/**
 * The cloud services covered by the user's Business Associate Agreement (45 CFR 164.308(b)(1),
 * 164.314(a)). A PHI environment may only contain resources of these services (the checker's
 * HIPAA-BAA-SERVICE rule), and the deploy gate refuses a deploy that declares another one.
 *
 * The default is the services the substrate uses. A BAA is a contract, not a default: list what
 * yours actually covers (AWS: the account's BAA in AWS Artifact covers the eligible services;
 * GCP: the BAA's covered-products list), adding services with `with(...)`.
 */
export class BaaRegistry {
  /** The services the substrate itself uses, each on its provider's HIPAA list. */
  public static substrateDefaults(): BaaRegistry {
    return new BaaRegistry(SUBSTRATE_BAA_SERVICES);
  }

  public readonly services: readonly BaaService[];

  constructor(services: readonly BaaService[]) {
    const seen = new Set<string>();
    for (const s of services) {
      const where = `BaaRegistry ${JSON.stringify(s?.id)}`;
      if (typeof s?.id !== "string" || !SERVICE_ID.test(s.id)) {
        throw new HipaaConfigError({ path: where, problem: `service id ${JSON.stringify(s?.id)} is not <cloud>:<service>`, fix: "write the IAM prefix (aws:s3) or the API name without .googleapis.com (gcp:storage)" });
      }
      if (!s.source || s.source.trim().length < 10) {
        throw new HipaaConfigError({ path: where, problem: "the service has no source for its coverage", cfr: "164.308(b)(1)", fix: "name where the BAA or the provider's HIPAA list covers it, so a reviewer can check the claim" });
      }
      if (seen.has(s.id)) {
        throw new HipaaConfigError({ path: where, problem: `service ${s.id} is listed twice`, fix: "list each service once" });
      }
      seen.add(s.id);
    }
    this.services = [...services].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The registry plus more covered services. */
  public with(...services: BaaService[]): BaaRegistry {
    return new BaaRegistry([...this.services, ...services]);
  }

  public covers(id: string): boolean {
    return this.services.some((s) => s.id === id);
  }

  /** Service ids, sorted. */
  public get ids(): string[] {
    return this.services.map((s) => s.id);
  }
}
