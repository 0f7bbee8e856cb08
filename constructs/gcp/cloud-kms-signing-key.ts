import { Construct } from "constructs";
import { KmsCryptoKey } from "@cdktf/provider-google/lib/kms-crypto-key";
import { KmsCryptoKeyIamMember } from "@cdktf/provider-google/lib/kms-crypto-key-iam-member";
import { KmsKeyRing } from "@cdktf/provider-google/lib/kms-key-ring";
import { HipaaConfigError } from "../../src/errors";
import { assertSameEnvironment, Environment } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";
import { IGcpPrincipal } from "./principal";

/** Cloud KMS asymmetric signing algorithms cosign supports. */
export enum CloudKmsSigningAlgorithm {
  EC_SIGN_P256_SHA256 = "EC_SIGN_P256_SHA256",
  EC_SIGN_P384_SHA384 = "EC_SIGN_P384_SHA384",
  RSA_SIGN_PKCS1_2048_SHA256 = "RSA_SIGN_PKCS1_2048_SHA256",
  RSA_SIGN_PKCS1_3072_SHA256 = "RSA_SIGN_PKCS1_3072_SHA256",
  RSA_SIGN_PKCS1_4096_SHA256 = "RSA_SIGN_PKCS1_4096_SHA256",
}

export enum CloudKmsProtectionLevel {
  HSM = "HSM",
  SOFTWARE = "SOFTWARE",
}

export interface CloudKmsSigningKeyProps {
  readonly environment: Environment;
  readonly projectId: string;
  /** Key ring location, e.g. "us-central1" or "global". */
  readonly location: string;
  /** @default CloudKmsSigningAlgorithm.EC_SIGN_P256_SHA256 */
  readonly algorithm?: CloudKmsSigningAlgorithm;
  /** @default CloudKmsProtectionLevel.HSM; SOFTWARE is refused for PHI environments and needs `softwareProtectionReason` elsewhere */
  readonly protectionLevel?: CloudKmsProtectionLevel;
  /** Required to accept SOFTWARE protection outside PHI environments. @default - none */
  readonly softwareProtectionReason?: string;
  /**
   * Not supported: Cloud KMS rotates only symmetric keys. Any value is refused with instructions.
   * @default - none
   */
  readonly rotationPeriod?: string;
  /** Members who administer the key (roles/cloudkms.admin); never signers or verifiers. @default - none */
  readonly administratorMembers?: readonly string[];
}

/**
 * A Cloud KMS `ASYMMETRIC_SIGN` key for cosign: EC P-256 in an HSM by default, no rotation
 * period, a 30-day destroy schedule and `prevent_destroy` (a destroyed key's name can never be
 * reused). Signers get roles/cloudkms.signerVerifier plus roles/cloudkms.viewer (cosign's gcpkms
 * client reads the key and lists its versions); verifiers roles/cloudkms.publicKeyViewer;
 * administrators roles/cloudkms.admin, and no member holds both.
 */
export class CloudKmsSigningKey extends Construct {
  public readonly environment: Environment;
  public readonly keyRing: KmsKeyRing;
  public readonly key: KmsCryptoKey;
  /** `projects/P/locations/L/keyRings/R/cryptoKeys/K`. */
  public readonly keyId: string;
  /** `gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K/versions/1`, for cosign. */
  public readonly cosignKeyUri: string;

  private readonly administrators: readonly string[];

  constructor(scope: Construct, id: string, props: CloudKmsSigningKeyProps) {
    super(scope, id);
    const path = this.node.path;
    if (props.rotationPeriod !== undefined) {
      throw new HipaaConfigError({
        path,
        problem: "a rotation period was requested, but Cloud KMS does not rotate asymmetric keys (the API rejects rotation_period for ASYMMETRIC_SIGN)",
        cfr: Cfr.INTEGRITY,
        fix: "leave rotationPeriod unset; to rotate, add a new key version (or key), point cosign at it, and keep the old version's public key trusted until its signatures age out",
      });
    }
    const algorithm = props.algorithm ?? CloudKmsSigningAlgorithm.EC_SIGN_P256_SHA256;
    if (!Object.values(CloudKmsSigningAlgorithm).includes(algorithm)) {
      throw new HipaaConfigError({ path, problem: `algorithm ${JSON.stringify(algorithm)} is not an asymmetric signing algorithm cosign supports`, fix: `use one of ${Object.values(CloudKmsSigningAlgorithm).join(", ")}` });
    }
    const protection = props.protectionLevel ?? CloudKmsProtectionLevel.HSM;
    if (protection !== CloudKmsProtectionLevel.HSM) {
      if (props.environment.handlesPhi || !props.softwareProtectionReason || props.softwareProtectionReason.trim().length < 20) {
        throw new HipaaConfigError({
          path,
          problem: `protection level ${protection} keeps the signing key outside an HSM${props.environment.handlesPhi ? ` in PHI environment "${props.environment.name}"` : ""}`,
          cfr: Cfr.INTEGRITY,
          fix: props.environment.handlesPhi ? "leave protectionLevel unset (HSM)" : "leave protectionLevel unset (HSM), or pass softwareProtectionReason (at least 20 characters)",
        });
      }
    }
    this.environment = props.environment;
    this.administrators = props.administratorMembers ?? [];
    const env = props.environment.name;
    this.keyRing = new KmsKeyRing(this, "KeyRing", { name: `hipaa-cosign-${env}`, location: props.location, project: props.projectId, lifecycle: { preventDestroy: true } });
    this.key = new KmsCryptoKey(this, "Key", {
      name: "cosign",
      keyRing: this.keyRing.id,
      purpose: "ASYMMETRIC_SIGN",
      versionTemplate: { algorithm, protectionLevel: protection },
      destroyScheduledDuration: "2592000s",
      labels: { environment: env, purpose: "hipaa-artifact-signing" },
      lifecycle: { preventDestroy: true },
    });
    this.keyId = this.key.id;
    this.cosignKeyUri = `gcpkms://${this.key.id}/versions/1`;
    this.administrators.forEach((member, i) =>
      new KmsCryptoKeyIamMember(this, `Admin${i}`, { cryptoKeyId: this.key.id, role: "roles/cloudkms.admin", member }),
    );
    recordControl(this, { section: Cfr.INTEGRITY, resources: [this.key], how: `Artifacts are signed with a Cloud KMS ${algorithm} key (${protection}); only named signers may use it.` });
    recordControl(this, { section: Cfr.ACCESS_MANAGEMENT, resources: [this.key], how: "Key administrators and signers/verifiers are disjoint." });
  }

  /** roles/cloudkms.signerVerifier and roles/cloudkms.viewer (cosign reads the key and its versions). */
  public grantSign(principal: IGcpPrincipal): void {
    this.grant(principal, "Sign", ["roles/cloudkms.signerVerifier", "roles/cloudkms.viewer"]);
  }

  /** roles/cloudkms.publicKeyViewer. */
  public grantVerify(principal: IGcpPrincipal): void {
    this.grant(principal, "Verify", ["roles/cloudkms.publicKeyViewer"]);
  }

  private grant(principal: IGcpPrincipal, intent: string, roles: string[]): void {
    assertSameEnvironment(this.node.path, this.environment, principal);
    if (this.administrators.includes(principal.member)) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: `${principal.grantName} administers this key and cannot also hold a crypto role on it`,
        cfr: Cfr.ACCESS_MANAGEMENT,
        fix: "sign and verify with identities that are not key administrators",
      });
    }
    roles.forEach((role) =>
      new KmsCryptoKeyIamMember(this, `${intent}${principal.grantName}${role.split(".").pop()}`, { cryptoKeyId: this.key.id, role, member: principal.member }),
    );
  }
}
