import { Construct } from "constructs";
import { ArtifactRegistryRepository } from "@cdktf/provider-google/lib/artifact-registry-repository";
import { ArtifactRegistryRepositoryIamMember } from "@cdktf/provider-google/lib/artifact-registry-repository-iam-member";
import { KmsCryptoKey } from "@cdktf/provider-google/lib/kms-crypto-key";
import { KmsCryptoKeyIamMember } from "@cdktf/provider-google/lib/kms-crypto-key-iam-member";
import { KmsKeyRing } from "@cdktf/provider-google/lib/kms-key-ring";
import { Token } from "cdktf";
import { HipaaConfigError } from "../../src/errors";
import { assertSameEnvironment, Environment } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";
import { IGcpPrincipal } from "./principal";
import { requireServices } from "./project-services";

export interface ArtifactRegistryImageRepositoryProps {
  /** The environment whose images the repository holds. */
  readonly environment: Environment;
  readonly projectId: string;
  /** The project number (the Artifact Registry service agent is `service-NUMBER@gcp-sa-artifactregistry...`). */
  readonly projectNumber: string;
  /** Region of the repository (and of its key). */
  readonly location: string;
  /** The repository id, e.g. `clinical-images`. */
  readonly repositoryId: string;
  /**
   * IAM members that pull: the workload cluster's node service account. They get
   * `roles/artifactregistry.reader` on this repository only.
   * @default - none
   */
  readonly readerMembers?: readonly string[];
  /**
   * CMEK (`projects/P/locations/L/keyRings/R/cryptoKeys/K`, in the repository's location).
   * @default - a new rotating key in a key ring of the repository's own
   */
  readonly kmsKeyId?: string;
  /**
   * Days after which untagged versions are deleted (cleanup policy).
   * @default 14
   */
  readonly untaggedExpiryDays?: number;
}

const REPOSITORY_ID = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * An Artifact Registry Docker repository for one environment: CMEK (the repository waits for
 * the Artifact Registry service agent's grant on the key), immutable tags, vulnerability
 * scanning, untagged versions cleaned up, and repository-level grants that split writers (the
 * environment's build pool) from readers (the workload cluster's nodes).
 */
export class ArtifactRegistryImageRepository extends Construct {
  public readonly environment: Environment;
  public readonly repository: ArtifactRegistryRepository;
  /** `projects/P/locations/L/repositories/R`. */
  public readonly repositoryName: string;
  /** `LOCATION-docker.pkg.dev/PROJECT/REPOSITORY`. */
  public readonly dockerHost: string;
  public readonly kmsKeyId: string;
  public readonly repositoryId: string;
  private readonly writers = new Set<string>();

  constructor(scope: Construct, id: string, props: ArtifactRegistryImageRepositoryProps) {
    super(scope, id);
    const path = this.node.path;
    validate(path, props);
    this.environment = props.environment;
    this.repositoryId = props.repositoryId;
    const env = props.environment.name;
    const days = props.untaggedExpiryDays ?? 14;

    let key: KmsCryptoKey | undefined;
    if (props.kmsKeyId) {
      this.kmsKeyId = props.kmsKeyId;
    } else {
      const ring = new KmsKeyRing(this, "KeyRing", {
        name: `hipaa-images-${env}-${props.repositoryId}`.slice(0, 63),
        location: props.location,
        project: props.projectId,
        lifecycle: { preventDestroy: true },
      });
      key = new KmsCryptoKey(this, "Key", {
        name: "images",
        keyRing: ring.id,
        purpose: "ENCRYPT_DECRYPT",
        rotationPeriod: "7776000s",
        destroyScheduledDuration: "2592000s",
        labels: { environment: env, purpose: "hipaa-images" },
        lifecycle: { preventDestroy: true },
      });
      this.kmsKeyId = key.id;
    }
    // A repository with a key its service agent cannot use fails to create: it waits for the grant.
    const agentGrant = new KmsCryptoKeyIamMember(this, "RegistryAgentKeyGrant", {
      cryptoKeyId: this.kmsKeyId,
      role: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
      member: `serviceAccount:service-${props.projectNumber}@gcp-sa-artifactregistry.iam.gserviceaccount.com`,
    });
    // The agent exists once the Artifact Registry API is on.
    requireServices(agentGrant, "artifactregistry.googleapis.com");

    this.repository = new ArtifactRegistryRepository(this, "Repository", {
      project: props.projectId,
      location: props.location,
      repositoryId: props.repositoryId,
      format: "DOCKER",
      mode: "STANDARD_REPOSITORY",
      description: `HIPAA application images for ${env}`,
      kmsKeyName: this.kmsKeyId,
      // A pushed tag always names the digest that was scanned and signed.
      dockerConfig: { immutableTags: true },
      // INHERITED: scanned whenever the project's Container Scanning API is on (the stack enables it).
      vulnerabilityScanningConfig: { enablementConfig: "INHERITED" },
      cleanupPolicyDryRun: false,
      cleanupPolicies: [{ id: "expire-untagged", action: "DELETE", condition: { tagState: "UNTAGGED", olderThan: `${days * 86400}s` } }],
      labels: { environment: env, purpose: "hipaa-images" },
      dependsOn: [agentGrant],
    });
    requireServices(this.repository, "containerscanning.googleapis.com");
    this.repositoryName = `projects/${props.projectId}/locations/${props.location}/repositories/${props.repositoryId}`;
    this.dockerHost = `${props.location}-docker.pkg.dev/${props.projectId}/${props.repositoryId}`;
    const readers = (props.readerMembers ?? []).map(
      (member, i) => new ArtifactRegistryRepositoryIamMember(this, `Reader${i}`, { project: props.projectId, location: props.location, repository: this.repository.name, role: "roles/artifactregistry.reader", member }),
    );

    recordControl(this, { section: Cfr.INTEGRITY, resources: [this.repository], how: `Images for ${env}: immutable tags, vulnerability scanning; only the build pool writes.` });
    recordControl(this, { section: Cfr.ENCRYPTION, resources: key ? [this.repository, key] : [this.repository], how: "Images encrypted at rest with a customer-managed Cloud KMS key." });
    if (readers.length > 0) recordControl(this, { section: Cfr.ACCESS_CONTROL, resources: readers, how: "Only the workload cluster's nodes are granted reads on the repository." });
  }

  /** roles/artifactregistry.writer on this repository, for the environment's build pool. */
  public grantWrite(principal: IGcpPrincipal): ArtifactRegistryRepositoryIamMember {
    assertSameEnvironment(this.node.path, this.environment, principal);
    if (this.writers.has(principal.member)) {
      throw new HipaaConfigError({ path: this.node.path, problem: `${principal.grantName} is granted write twice`, fix: "grant each writer once" });
    }
    this.writers.add(principal.member);
    return new ArtifactRegistryRepositoryIamMember(this, `Writer${principal.grantName}`, {
      project: this.repository.project,
      location: this.repository.location,
      repository: this.repository.name,
      role: "roles/artifactregistry.writer",
      member: principal.member,
    });
  }
}

function validate(path: string, props: ArtifactRegistryImageRepositoryProps): void {
  if (!Token.isUnresolved(props.repositoryId) && !REPOSITORY_ID.test(props.repositoryId)) {
    throw new HipaaConfigError({ path, problem: `repositoryId ${JSON.stringify(props.repositoryId)} is not an Artifact Registry repository id`, fix: "use lowercase letters, digits and hyphens, starting with a letter, e.g. clinical-images" });
  }
  const days = props.untaggedExpiryDays;
  if (days !== undefined && !(Number.isInteger(days) && days >= 1 && days <= 3650)) {
    throw new HipaaConfigError({ path, problem: `untaggedExpiryDays ${days} is not a whole number of days from 1 to 3650`, fix: "leave it unset (14) or pass e.g. 30" });
  }
  for (const m of props.readerMembers ?? []) {
    if (!Token.isUnresolved(m) && (/[*?]/.test(m) || /^(allUsers|allAuthenticatedUsers)$/.test(m) || !/^(serviceAccount|group|user):[^\s]+@[^\s]+$/.test(m))) {
      throw new HipaaConfigError({ path, problem: `reader ${JSON.stringify(m)} is not one named member`, cfr: Cfr.ACCESS_CONTROL, fix: "name the workload nodes' service account, e.g. serviceAccount:workload-nodes@PROJECT.iam.gserviceaccount.com" });
    }
  }
}
