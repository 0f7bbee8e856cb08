import { Construct } from "constructs";
import { Token, TerraformProvider } from "cdktf";
import { Release } from "@cdktf/provider-helm/lib/release";
import { Manifest } from "@cdktf/provider-kubernetes/lib/manifest";
import { HipaaConfigError } from "../../src/errors";
import { Environment } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";

/**
 * The Kyverno release to install, pinned: a chart version, and every image the chart runs by
 * digest. Helm resolves the chart at apply, never at synth; the digests make the images the ones
 * that were reviewed, whatever the tags later point at.
 */
export interface KyvernoRelease {
  /** The kyverno chart's version, exact (e.g. `3.3.7`); ranges are refused. */
  readonly chartVersion: string;
  /**
   * Every image the chart runs, by the chart value that sets it (`admissionController.container.image`,
   * `admissionController.initContainer.image`, `backgroundController.image`,
   * `cleanupController.image`, `reportsController.image`, and the hook jobs' kubectl images, as the
   * chart version lists them), each as `REGISTRY/REPOSITORY:TAG@sha256:DIGEST`. The construct sets
   * `<value>.registry`, `.repository` and `.tag` (`TAG@sha256:DIGEST`, which the chart appends after
   * `:`; a reference with both a tag and a digest is pulled by the digest).
   */
  readonly images: Readonly<Record<string, string>>;
  /** @default https://kyverno.github.io/kyverno/ */
  readonly repository?: string;
  /** @default "kyverno" */
  readonly namespace?: string;
}

export interface SignedImageAdmissionProps {
  /** The environment whose workload cluster this is. */
  readonly environment: Environment;
  /**
   * The environment's cosign key as Kyverno's `keys.kms` takes it: `awskms:///<alias or key ARN>`
   * (SigningKey.cosignKeyUri) or `gcpkms://projects/.../cryptoKeys/K/versions/N`
   * (CloudKmsSigningKey.cosignKeyUri).
   */
  readonly cosignKeyUri: string;
  /** The application namespaces in which only signed images run. */
  readonly namespaces: readonly string[];
  /**
   * Image references the policy verifies (Kyverno globs).
   * @default ["*"] - every image in the namespaces
   */
  readonly imageReferences?: readonly string[];
  readonly release: KyvernoRelease;
  /** The helm provider configured for the workload cluster. */
  readonly helmProvider: TerraformProvider;
  /** The kubernetes provider configured for the workload cluster. */
  readonly kubernetesProvider: TerraformProvider;
}

const DIGEST_IMAGE = /^([a-z0-9.-]+(?::\d+)?)\/([a-z0-9._\/-]+):([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})@sha256:[0-9a-f]{64}$/;
const EXACT_VERSION = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const VALUE_PATH = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/;

/**
 * Signed-image admission on a workload cluster: Kyverno from a pinned chart with digest-pinned
 * images, and a ClusterPolicy that lets a Pod in the application namespaces run only when every
 * image carries a cosign signature made by the environment's KMS key (Enforce, digests verified
 * and written back into the Pod, so a tag moved after admission cannot change what runs).
 */
export class SignedImageAdmission extends Construct {
  public readonly environment: Environment;
  public readonly release: Release;
  public readonly policy: Manifest;
  public readonly policyName: string;
  public readonly cosignKeyUri: string;

  constructor(scope: Construct, id: string, props: SignedImageAdmissionProps) {
    super(scope, id);
    const path = this.node.path;
    validate(path, props);
    const env = props.environment.name;
    this.environment = props.environment;
    this.cosignKeyUri = props.cosignKeyUri;
    const namespace = props.release.namespace ?? "kyverno";

    const set = Object.entries(props.release.images).flatMap(([value, image]) => {
      const [, registry, repository, tag] = DIGEST_IMAGE.exec(image)!;
      const digest = image.slice(image.indexOf("@"));
      return [
        { name: `${value}.registry`, value: registry },
        { name: `${value}.repository`, value: repository },
        { name: `${value}.tag`, value: `${tag}${digest}`, type: "string" },
      ];
    });
    this.release = new Release(this, "Kyverno", {
      provider: props.helmProvider,
      name: "kyverno",
      repository: props.release.repository ?? "https://kyverno.github.io/kyverno/",
      chart: "kyverno",
      version: props.release.chartVersion,
      namespace,
      createNamespace: true,
      atomic: true,
      wait: true,
      set,
    });

    this.policyName = `hipaa-signed-images-${env}`.slice(0, 63);
    this.policy = new Manifest(this, "VerifyImagesPolicy", {
      provider: props.kubernetesProvider,
      manifest: {
        apiVersion: "kyverno.io/v1",
        kind: "ClusterPolicy",
        metadata: {
          name: this.policyName,
          annotations: {
            "policies.kyverno.io/title": `Images in ${env} are signed by the ${env} signing key`,
            "hipaa.substrate/cfr": Cfr.INTEGRITY,
          },
        },
        spec: {
          // Kyverno's default is Audit, which reports an unsigned image and lets it run.
          validationFailureAction: "Enforce",
          background: false,
          webhookTimeoutSeconds: 30,
          rules: [
            {
              name: "signed-by-environment-key",
              match: { any: [{ resources: { kinds: ["Pod"], namespaces: [...props.namespaces] } }] },
              verifyImages: [
                {
                  imageReferences: [...(props.imageReferences ?? ["*"])],
                  mutateDigest: true,
                  verifyDigest: true,
                  required: true,
                  attestors: [
                    {
                      count: 1,
                      entries: [
                        {
                          keys: {
                            kms: props.cosignKeyUri,
                            // Private PHI-adjacent images are signed with --tlog-upload=false: their
                            // digests are not published to the public transparency log, so none is
                            // required here. The KMS key is the trust root.
                            rekor: { ignoreTlog: true },
                            ctlog: { ignoreSCT: true },
                          },
                        },
                      ],
                    },
                  ],
                },
              ],
            },
          ],
        },
      },
      // The ClusterPolicy CRD comes with the chart.
      dependsOn: [this.release],
    });

    recordControl(this, {
      section: Cfr.INTEGRITY,
      resources: [this.policy, this.release],
      how: `Kyverno (chart ${props.release.chartVersion}, images pinned by digest) admits a Pod in ${props.namespaces.join(", ")} only if every image is signed by ${env}'s key (${Token.isUnresolved(props.cosignKeyUri) ? "the stack's signing key" : props.cosignKeyUri}); Enforce, digests pinned into the Pod.`,
    });
  }
}

function validate(path: string, props: SignedImageAdmissionProps): void {
  const uri = props.cosignKeyUri;
  if (!/^(awskms:\/\/\/|gcpkms:\/\/)/.test(uri)) {
    throw new HipaaConfigError({
      path,
      problem: `cosignKeyUri ${JSON.stringify(uri)} is not a KMS key URI`,
      cfr: Cfr.INTEGRITY,
      fix: "pass the environment's SigningKey.cosignKeyUri (awskms:///...) or CloudKmsSigningKey.cosignKeyUri (gcpkms://...)",
    });
  }
  if (props.namespaces.length === 0 || props.namespaces.some((n) => !NAMESPACE.test(n) || n === "kube-system" || n === (props.release.namespace ?? "kyverno"))) {
    throw new HipaaConfigError({
      path,
      problem: `namespaces ${JSON.stringify(props.namespaces)} must be one or more application namespaces (not kube-system or Kyverno's own)`,
      fix: "list the namespaces the environment's applications deploy to",
    });
  }
  if (!EXACT_VERSION.test(props.release.chartVersion)) {
    throw new HipaaConfigError({
      path,
      problem: `chartVersion ${JSON.stringify(props.release.chartVersion)} is not an exact chart version`,
      cfr: Cfr.INTEGRITY,
      fix: "pin the chart, e.g. chartVersion: \"3.3.7\"; a range lets a new chart reach the cluster without review",
    });
  }
  const images = Object.entries(props.release.images);
  if (images.length === 0) {
    throw new HipaaConfigError({ path, problem: "release.images is empty: the chart's images would be pulled by tag", cfr: Cfr.INTEGRITY, fix: "pin every image the chart version runs by digest" });
  }
  for (const [value, image] of images) {
    if (!VALUE_PATH.test(value) || !DIGEST_IMAGE.test(image)) {
      throw new HipaaConfigError({
        path,
        problem: `release.images[${JSON.stringify(value)}] = ${JSON.stringify(image)} is not a chart value path with an image pinned by digest`,
        cfr: Cfr.INTEGRITY,
        fix: "write each as REGISTRY/REPOSITORY:TAG@sha256:DIGEST (crane digest REGISTRY/REPOSITORY:TAG prints the digest), keyed by the chart value, e.g. backgroundController.image",
      });
    }
  }
}
