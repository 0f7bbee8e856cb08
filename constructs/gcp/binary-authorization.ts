import { Construct } from "constructs";
import { BinaryAuthorizationAttestor } from "@cdktf/provider-google/lib/binary-authorization-attestor";
import { BinaryAuthorizationPolicy } from "@cdktf/provider-google/lib/binary-authorization-policy";
import { ContainerAnalysisNote } from "@cdktf/provider-google/lib/container-analysis-note";
import { ContainerAnalysisNoteIamMember } from "@cdktf/provider-google/lib/container-analysis-note-iam-member";
import { DataGoogleKmsCryptoKeyVersion } from "@cdktf/provider-google/lib/data-google-kms-crypto-key-version";
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
import { HipaaConfigError } from "../../src/errors";
import { assertSameEnvironment, Environment } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";
import { CloudKmsSigningKey } from "./cloud-kms-signing-key";
import { IGcpPrincipal } from "./principal";

export interface KmsBinaryAuthorizationProps {
  readonly environment: Environment;
  readonly projectId: string;
  /** The environment's signing key: the attestor verifies attestations with its version 1 public key. */
  readonly signingKey: CloudKmsSigningKey;
  /**
   * Image name patterns admitted without an attestation (Binary Authorization's
   * `admission_whitelist_patterns`, e.g. the runner images CI jobs start from:
   * `us-central1-docker.pkg.dev/PROJECT/ci-images/*`). Google's own GKE system images are admitted
   * by `global_policy_evaluation_mode = ENABLE`. A pattern admitting everything is refused.
   * @default - none
   */
  readonly allowlistPatterns?: readonly string[];
}

/**
 * The project's Binary Authorization policy (one per project, so it governs the runner cluster and
 * the workload cluster alike): every image needs an attestation signed by the environment's Cloud
 * KMS signing key, enforced (blocked and audit-logged), with no allow-all default. The attestor
 * holds the key's public key; attestations are written by the principals granted `grantAttest`.
 */
export class KmsBinaryAuthorization extends Construct {
  public readonly environment: Environment;
  public readonly note: ContainerAnalysisNote;
  public readonly attestor: BinaryAuthorizationAttestor;
  public readonly policy: BinaryAuthorizationPolicy;
  private readonly projectId: string;

  constructor(scope: Construct, id: string, props: KmsBinaryAuthorizationProps) {
    super(scope, id);
    const path = this.node.path;
    if (props.signingKey.environment.name !== props.environment.name) {
      throw new HipaaConfigError({ path, problem: `the signing key is ${props.signingKey.environment.name}'s, not ${props.environment.name}'s`, cfr: Cfr.INTEGRITY, fix: "attest with the environment's own signing key" });
    }
    for (const pattern of props.allowlistPatterns ?? []) {
      if (!/^[a-z0-9.-]+(:\d+)?\/[^\s]*$/.test(pattern) || /^[^/]*\/\*+$/.test(pattern) || pattern.includes("**")) {
        throw new HipaaConfigError({
          path,
          problem: `allowlist pattern ${JSON.stringify(pattern)} admits a whole registry or more without an attestation`,
          cfr: Cfr.INTEGRITY,
          fix: "allowlist one repository path (REGISTRY/PROJECT/REPOSITORY/*), or attest those images too",
        });
      }
    }
    this.environment = props.environment;
    this.projectId = props.projectId;
    const env = props.environment.name;

    this.note = new ContainerAnalysisNote(this, "Note", {
      project: props.projectId,
      name: `hipaa-${env}-signed`,
      attestationAuthority: { hint: { humanReadableName: `Signed by the ${env} cosign key` } },
    });
    const version = new DataGoogleKmsCryptoKeyVersion(this, "KeyVersion", { cryptoKey: props.signingKey.keyId, version: 1 });
    this.attestor = new BinaryAuthorizationAttestor(this, "Attestor", {
      project: props.projectId,
      name: `hipaa-${env}-signed`,
      description: `Attestations signed with ${env}'s Cloud KMS signing key`,
      attestationAuthorityNote: {
        noteReference: this.note.name,
        publicKeys: [
          {
            id: version.id,
            pkixPublicKey: { publicKeyPem: version.publicKey.get(0).pem, signatureAlgorithm: version.publicKey.get(0).algorithm },
          },
        ],
      },
    });
    const rule = { evaluationMode: "REQUIRE_ATTESTATION", enforcementMode: "ENFORCED_BLOCK_AND_AUDIT_LOG", requireAttestationsBy: [this.attestor.name] };
    this.policy = new BinaryAuthorizationPolicy(this, "Policy", {
      project: props.projectId,
      description: `Only images attested by ${env}'s signing key run on the ${env} clusters (45 CFR 164.312(c)(1))`,
      globalPolicyEvaluationMode: "ENABLE",
      defaultAdmissionRule: rule,
      admissionWhitelistPatterns: (props.allowlistPatterns ?? []).map((namePattern) => ({ namePattern })),
    });
    recordControl(this, {
      section: Cfr.INTEGRITY,
      resources: [this.policy, this.attestor],
      how: `Binary Authorization on ${props.projectId}: every image needs an attestation by ${env}'s KMS signing key (attestor ${this.attestor.node.id}), enforced, no allow-all default.`,
    });
  }

  /** Lets `principal` create attestations with this attestor (the build pool, which also holds the signing key). */
  public grantAttest(principal: IGcpPrincipal): void {
    assertSameEnvironment(this.node.path, this.environment, principal);
    new ContainerAnalysisNoteIamMember(this, `Attach${principal.grantName}`, { project: this.projectId, note: this.note.name, role: "roles/containeranalysis.notes.attacher", member: principal.member });
    // Attestations are occurrences in the project; there is no narrower grant for creating them.
    new ProjectIamMember(this, `Occurrences${principal.grantName}`, { project: this.projectId, role: "roles/containeranalysis.occurrences.editor", member: principal.member });
  }
}
