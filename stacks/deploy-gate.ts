import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "fs";
import { join } from "path";
import { Construct } from "constructs";
import { ISynthesisSession, TerraformLocal, TerraformStack } from "cdktf";
import { HipaaConfigError } from "../src/errors";
import { BaaRegistry, Environment, ScanThresholdDocument, ScanThresholds, ScanThresholdsProps } from "../src/model";
import { terraformAddress } from "../src/compliance/record";
import { SigningKey } from "../constructs/aws/signing-key";
import { CloudKmsSigningKey } from "../constructs/gcp/cloud-kms-signing-key";

/** The key an environment's artifacts must be signed with, as the gate compares it. */
export interface DeployGateSigner {
  readonly cloud: "aws" | "gcp";
  /** The key as its cloud names it: the AWS alias, or the Cloud KMS key's resource name. */
  readonly key: string;
  /**
   * The cosign key references a verification of this environment's signatures may name
   * (`input.artifact.signed_by`). Literal strings known at synth, never Terraform tokens.
   */
  readonly cosignUris: readonly string[];
  /** The Terraform address of the key in the environment's stack. */
  readonly terraformAddress: string;
}

export interface DeployGateProps {
  readonly environment: Environment;
  readonly signer: DeployGateSigner;
  /**
   * Teams or groups whose members may approve deploys to this environment: GitHub team ids
   * (`"5502"`; ids, because slugs can be renamed) or GitLab group full paths.
   */
  readonly approverTeams: readonly string[];
  /** @default zero critical findings (container, SAST, IaC) and zero secrets */
  readonly scanThresholds?: ScanThresholdsProps;
  /** @default BaaRegistry.substrateDefaults() */
  readonly baa?: BaaRegistry;
}

/** The gate's data document (`data.hipaa_substrate`). */
export interface DeployGateDocument {
  readonly generated_by: "cdktf-hipaa-substrate";
  readonly stack: string;
  readonly environment: { readonly name: string; readonly tier: string; readonly handles_phi: boolean };
  readonly signer: { readonly cloud: string; readonly key: string; readonly cosign_uris: readonly string[]; readonly terraform_address: string };
  readonly approvers: { readonly teams: readonly string[] };
  readonly scan_thresholds: ScanThresholdDocument;
  readonly scan_relaxation_reason?: string;
  readonly baa_services: readonly string[];
}

/** Where the bundle lands inside `cdktf.out/stacks/<stack>/`. */
export const DEPLOY_GATE_BUNDLE_DIR = "policy";
/** The Terraform local the checker reads to know a stack's environment and BAA registry. */
export const SUBSTRATE_LOCAL = "hipaa_substrate";

/**
 * The deploy policy gate of one environment stack. At `cdktf synth` it writes an OPA bundle next
 * to the stack's Terraform JSON:
 *
 *   cdktf.out/stacks/<stack>/policy/deploy/hipaa.rego   (the policy, shipped with the library)
 *   cdktf.out/stacks/<stack>/policy/data.json           (data.hipaa_substrate, generated here)
 *
 * so the pipeline runs `opa eval -d cdktf.out/stacks/<stack>/policy -i evidence-bundle.json
 * data.deploy.hipaa.allow` with data derived from the same configuration as the stack: the
 * signing key, the approver teams, the scan thresholds, the BAA registry.
 *
 * It also writes `locals.hipaa_substrate` into the stack (environment, tier, PHI flag, BAA
 * services): nothing is created in the cloud, and the checker's HIPAA-BAA-SERVICE rule reads it.
 */
export class DeployGate extends Construct {
  /** The signer of an AWS environment: the alias ARN cosign signs through (`awskms:///arn:...:alias/...`). */
  public static awsSigner(key: SigningKey, accountId: string, region: string): DeployGateSigner {
    const alias = key.alias.nameInput ?? key.aliasName;
    const partition = region.startsWith("us-gov-") ? "aws-us-gov" : region.startsWith("cn-") ? "aws-cn" : "aws";
    return {
      cloud: "aws",
      key: alias,
      cosignUris: [`awskms:///arn:${partition}:kms:${region}:${accountId}:${alias}`],
      terraformAddress: terraformAddress(key.key),
    };
  }

  /** The signer of a GCP environment: the key's version 1 (`gcpkms://projects/.../versions/1`). */
  public static gcpSigner(key: CloudKmsSigningKey): DeployGateSigner {
    const parts = [key.keyRing.projectInput, key.keyRing.locationInput, key.keyRing.nameInput, key.key.nameInput];
    if (parts.some((p) => !p)) {
      throw new HipaaConfigError({ path: key.node.path, problem: "the key's project, location or names are not set literally", fix: "give the key ring its project and location" });
    }
    const [project, location, ring, cryptoKey] = parts;
    const name = `projects/${project}/locations/${location}/keyRings/${ring}/cryptoKeys/${cryptoKey}`;
    return { cloud: "gcp", key: name, cosignUris: [`gcpkms://${name}/versions/1`], terraformAddress: terraformAddress(key.key) };
  }

  public readonly environment: Environment;
  public readonly scanThresholds: ScanThresholds;
  public readonly baa: BaaRegistry;
  /** The data document, as written to `data.json`. */
  public readonly document: { readonly hipaa_substrate: DeployGateDocument };

  constructor(scope: Construct, id: string, props: DeployGateProps) {
    super(scope, id);
    const path = this.node.path;
    const stack = TerraformStack.of(this);
    this.environment = props.environment;
    this.scanThresholds = new ScanThresholds(props.environment, props.scanThresholds, `${path}/scanThresholds`);
    this.baa = props.baa ?? BaaRegistry.substrateDefaults();
    validateSigner(path, props.signer);
    if (props.approverTeams.length === 0 || props.approverTeams.some((t) => !t || /[*?]/.test(t))) {
      throw new HipaaConfigError({
        path,
        problem: `approver teams ${JSON.stringify(props.approverTeams)} are empty or contain a wildcard`,
        cfr: "164.308(a)(4)",
        fix: "name the teams (GitHub team ids) or groups (GitLab full paths) whose members may approve deploys here",
      });
    }
    const env = props.environment;
    // One environment stack lives in one cloud: its stack and its gate list that cloud's covered services.
    const baaServices = this.baa.ids.filter((s) => s.startsWith(`${props.signer.cloud}:`));
    this.document = {
      hipaa_substrate: {
        generated_by: "cdktf-hipaa-substrate",
        stack: stack.node.id,
        environment: { name: env.name, tier: env.tier, handles_phi: env.handlesPhi },
        signer: { cloud: props.signer.cloud, key: props.signer.key, cosign_uris: [...props.signer.cosignUris], terraform_address: props.signer.terraformAddress },
        approvers: { teams: [...new Set(props.approverTeams)].sort() },
        scan_thresholds: this.scanThresholds.toDocument(),
        ...(this.scanThresholds.relaxationReason ? { scan_relaxation_reason: this.scanThresholds.relaxationReason } : {}),
        baa_services: baaServices,
      },
    };
    new TerraformLocal(stack, SUBSTRATE_LOCAL, { environment: env.name, tier: env.tier, handles_phi: env.handlesPhi, baa_services: baaServices });

    // The stack's synthesizer is public API: wrap it so the bundle is written after the stack's
    // own JSON (and after its validations, so a stack that fails the gate gets no bundle).
    const inner = stack.synthesizer;
    const document = this.document;
    stack.synthesizer = {
      synthesize(session: ISynthesisSession): void {
        inner.synthesize(session);
        writeDeployGateBundle(join(session.outdir, "stacks", stack.node.id, DEPLOY_GATE_BUNDLE_DIR), document);
      },
    };
  }
}

/** Writes the policy and the data document into `dir` (an OPA bundle directory). */
export function writeDeployGateBundle(dir: string, document: { readonly hipaa_substrate: DeployGateDocument }): void {
  mkdirSync(join(dir, "deploy"), { recursive: true });
  copyFileSync(policySource(), join(dir, "deploy", "hipaa.rego"));
  writeFileSync(join(dir, "data.json"), `${JSON.stringify(document, null, 2)}\n`);
}

/** The shipped policy: `policy/deploy/hipaa.rego` at the package root (from source or from dist/). */
export function policySource(): string {
  for (const root of [join(__dirname, ".."), join(__dirname, "..", "..")]) {
    const file = join(root, "policy", "deploy", "hipaa.rego");
    if (existsSync(file)) return file;
  }
  throw new Error("policy/deploy/hipaa.rego is missing from the cdktf-hipaa-substrate package");
}

function validateSigner(path: string, signer: DeployGateSigner): void {
  const prefix = signer.cloud === "aws" ? "awskms:///" : "gcpkms://";
  const bad = signer.cosignUris.filter((u) => !u.startsWith(prefix) || u.includes("${") || /[*?]/.test(u));
  if (signer.cosignUris.length === 0 || bad.length > 0) {
    throw new HipaaConfigError({
      path,
      problem: `signer URIs ${JSON.stringify(signer.cosignUris)} are not literal ${prefix} key references (a Terraform token or wildcard cannot be compared by the gate)`,
      cfr: "164.312(c)(1)",
      fix: signer.cloud === "aws" ? "use DeployGate.awsSigner(key, accountId, region)" : "use DeployGate.gcpSigner(key)",
    });
  }
}
