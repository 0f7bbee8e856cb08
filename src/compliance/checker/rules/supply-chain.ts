import { Cfr } from "../../catalog";
import { collectReferences, ResourceIndex } from "../links";
import { fail, Judgement, pass, Rule } from "../rule";
import { block, blocks, bool, str, TfBody, TfResource, TfValue } from "../terraform";

/**
 * Supply-chain rules: the registries images live in, and the admission policies that decide which
 * images run. They judge what users write by hand as much as what the substrate writes.
 */

const isDockerRepository = (r: TfResource) => (str(r.body.format) ?? "").toUpperCase() === "DOCKER" && (str(r.body.mode) ?? "STANDARD_REPOSITORY") === "STANDARD_REPOSITORY";

/** Tags cosign writes for signatures, attestations and SBOMs (`sha256-<digest>.sig`): the only tolerable mutable ones. */
const COSIGN_TAG_FILTER = /^sha256-\*?(\.(sig|att|sbom))?\*?$/;

function judgeEcrTags(repo: TfResource): Judgement {
  const mode = str(repo.body.image_tag_mutability) ?? "MUTABLE";
  if (mode === "IMMUTABLE") return pass("tags are immutable");
  if (mode === "IMMUTABLE_WITH_EXCLUSION") {
    const filters = blocks(repo.body.image_tag_mutability_exclusion_filter).map((f) => str(f.filter) ?? "");
    const loose = filters.filter((f) => !COSIGN_TAG_FILTER.test(f));
    return loose.length === 0 ? pass("tags are immutable except cosign's signature tags") : fail(`tags matching ${loose.join(", ")} stay mutable, so a released tag can be moved to an unsigned image`);
  }
  return fail(`image_tag_mutability is ${mode}: a tag that was scanned and signed can later name other content`);
}

/** The signing keys an environment's unit holds: references to them, and their literal names. */
interface EnvironmentKeys {
  readonly addresses: ReadonlySet<string>;
  /** Literal AWS alias names (`alias/x`) and GCP `keyRings/R/cryptoKeys/K` suffixes. */
  readonly literals: readonly string[];
}

function environmentKeys(index: ResourceIndex): EnvironmentKeys {
  return index.memoize("supply-chain-signing-keys", () => {
    const addresses = new Set<string>();
    const literals: string[] = [];
    for (const key of index.ofType("aws_kms_key")) {
      if (str(key.body.key_usage) !== "SIGN_VERIFY") continue;
      addresses.add(key.address);
      for (const alias of index.ofType("aws_kms_alias")) {
        const refs = new Set<string>();
        collectReferences(alias.body.target_key_id, refs);
        if (!refs.has(key.address)) continue;
        addresses.add(alias.address);
        const name = str(alias.body.name);
        if (name && !name.includes("${")) literals.push(name);
      }
    }
    for (const key of index.ofType("google_kms_crypto_key")) {
      if (str(key.body.purpose) !== "ASYMMETRIC_SIGN") continue;
      addresses.add(key.address);
      const ring = index.resolve(key.body.key_ring);
      const ringName = ring ? str(ring.body.name) : undefined;
      const keyName = str(key.body.name);
      if (ringName && keyName && !ringName.includes("${")) literals.push(`keyRings/${ringName}/cryptoKeys/${keyName}`);
    }
    return { addresses, literals };
  });
}

/** Whether a KMS URI in an admission policy names one of this environment's signing keys. */
function isEnvironmentKey(uri: string, keys: EnvironmentKeys, index: ResourceIndex): boolean {
  const refs = new Set<string>();
  collectReferences(uri, refs);
  if (refs.size > 0) return [...refs].every((r) => keys.addresses.has(r)) && [...refs].some((r) => index.get(r) !== undefined);
  if (uri.startsWith("awskms://")) return keys.literals.some((l) => l.startsWith("alias/") && (uri.endsWith(`:${l}`) || uri.endsWith(`/${l}`)));
  if (uri.startsWith("gcpkms://")) {
    const path = uri.replace(/\/(versions|cryptoKeyVersions)\/\d+$/, "");
    return keys.literals.some((l) => !l.startsWith("alias/") && path.endsWith(`/${l}`));
  }
  return false;
}

interface AdmissionKeys {
  readonly kind: string;
  /** KMS URIs it verifies with. */
  readonly kms: string[];
  /** Other trust (inline public keys, keyless identities) that cannot be tied to a KMS key. */
  readonly other: string[];
  /** Why the policy would not block an unsigned image, if it would not. */
  readonly notEnforcing?: string;
}

const asArray = (v: TfValue): TfBody[] => (Array.isArray(v) ? (v as TfBody[]) : v && typeof v === "object" ? [v as TfBody] : []);

/** The keys of a Kyverno verifyImages ClusterPolicy or a Sigstore policy-controller ClusterImagePolicy. */
function admissionKeys(manifest: TfBody | undefined): AdmissionKeys | undefined {
  if (!manifest) return undefined;
  const kind = str(manifest.kind);
  const api = str(manifest.apiVersion ?? manifest.api_version) ?? "";
  const spec = block(manifest, "spec");
  if ((kind === "ClusterPolicy" || kind === "Policy") && api.startsWith("kyverno.io/")) {
    const verify = asArray(spec?.rules).flatMap((r) => asArray(r.verifyImages));
    if (verify.length === 0) return undefined;
    const kms: string[] = [];
    const other: string[] = [];
    for (const v of verify) {
      for (const attestor of asArray(v.attestors)) {
        for (const entry of asArray(attestor.entries)) {
          const keys = block(entry, "keys");
          if (keys && str(keys.kms)) kms.push(str(keys.kms)!);
          else if (keys && str(keys.publicKeys)) other.push("an inline public key");
          else if (keys) other.push("a key held in a Kubernetes Secret");
          else if (block(entry, "keyless")) other.push("a keyless (Fulcio) identity");
          else if (block(entry, "certificates")) other.push("a certificate");
        }
      }
      if (str(v.key)) other.push("an inline public key");
    }
    // Kyverno's default failure action is Audit: an unsigned image is reported, and runs.
    const actions = [str(spec?.validationFailureAction), ...verify.map((v) => str(v.failureAction))].filter(Boolean) as string[];
    const enforce = actions.some((a) => a.toLowerCase() === "enforce") && !actions.some((a) => a.toLowerCase() === "audit");
    return { kind, kms, other, notEnforcing: enforce ? undefined : "its failure action is Audit (Kyverno's default), so unsigned images still run" };
  }
  if (kind === "ClusterImagePolicy" && api.startsWith("policy.sigstore.dev/")) {
    const kms: string[] = [];
    const other: string[] = [];
    for (const authority of asArray(spec?.authorities)) {
      const key = block(authority, "key");
      if (key && str(key.kms)) kms.push(str(key.kms)!);
      else if (key) other.push("an inline public key");
      else if (block(authority, "keyless")) other.push("a keyless (Fulcio) identity");
      else other.push("an authority without a key");
    }
    const mode = str(spec?.mode) ?? "enforce";
    return { kind, kms, other, notEnforcing: mode === "warn" ? "its mode is warn, so unsigned images still run" : undefined };
  }
  return undefined;
}

/** A NetworkPolicy that selects every pod and allows nothing, in both directions. */
function isDefaultDeny(policy: TfResource): boolean {
  const spec = block(policy.body, "spec");
  const selector = block(spec, "pod_selector");
  const selectsAll = !selector || (blocks(selector.match_labels).every((l) => Object.keys(l).length === 0) && blocks(selector.match_expressions).length === 0);
  const types = [spec?.policy_types].flat().map((t) => str(t));
  return selectsAll && types.includes("Ingress") && types.includes("Egress") && blocks(spec?.ingress).length === 0 && blocks(spec?.egress).length === 0;
}

export const SUPPLY_CHAIN_RULES: readonly Rule[] = [
  {
    id: "HIPAA-REGISTRY-IMMUTABLE-TAGS",
    title: "Image repositories keep tags immutable",
    severity: "high",
    controls: [Cfr.INTEGRITY],
    resourceTypes: ["aws_ecr_repository", "google_artifact_registry_repository"],
    fix: "set image_tag_mutability = \"IMMUTABLE\" (ECR) or docker_config { immutable_tags = true } (Artifact Registry)",
    equivalents: ["CKV_AWS_51"],
    kics: [{ id: "d1846b12-20c5-4d45-8798-fc35b79268eb", name: "ECR Image Tag Not Immutable" }],
    evaluate: (repo) => {
      if (repo.type === "aws_ecr_repository") return judgeEcrTags(repo);
      if (!isDockerRepository(repo)) return undefined;
      return bool(block(repo.body, "docker_config")?.immutable_tags) === true ? pass("tags are immutable") : fail("docker tags are mutable: a tag that was scanned and signed can later name other content");
    },
  },
  {
    id: "HIPAA-REGISTRY-CMK",
    title: "Image repositories are encrypted with a customer-managed key",
    severity: "medium",
    controls: [Cfr.ENCRYPTION],
    resourceTypes: ["aws_ecr_repository", "google_artifact_registry_repository"],
    fix: "ECR: encryption_configuration { encryption_type = \"KMS\", kms_key = <your CMK> }; Artifact Registry: kms_key_name = <your Cloud KMS key>",
    equivalents: [],
    evaluate: (repo) => {
      if (repo.type === "aws_ecr_repository") {
        const enc = block(repo.body, "encryption_configuration");
        if (str(enc?.encryption_type) !== "KMS") return fail("images are encrypted with ECR's AES256 default, not a key you control");
        return str(enc?.kms_key) ? pass("encrypted with a customer-managed key") : fail("encryption_type KMS without kms_key uses the AWS-managed aws/ecr key, whose policy you cannot restrict");
      }
      return str(repo.body.kms_key_name) ? pass("encrypted with a customer-managed key") : fail("no kms_key_name: images are encrypted with a Google-managed key");
    },
  },
  {
    id: "HIPAA-REGISTRY-SCANNING",
    title: "Image repositories scan images for vulnerabilities",
    severity: "high",
    controls: [Cfr.EVALUATION],
    resourceTypes: ["aws_ecr_repository", "google_artifact_registry_repository"],
    acrossStacks: ["aws_ecr_registry_scanning_configuration"],
    fix: "ECR: image_scanning_configuration { scan_on_push = true } or an aws_ecr_registry_scanning_configuration with scan_type ENHANCED covering the repository; Artifact Registry: leave vulnerability_scanning_config.enablement_config INHERITED and enable containerscanning.googleapis.com",
    equivalents: ["CKV_AWS_163"],
    kics: [{ id: "9630336b-3fed-4096-8173-b9afdfe346a7", name: "Unscanned ECR Image" }],
    evaluate: (repo, index) => {
      if (repo.type === "aws_ecr_repository") {
        if (bool(block(repo.body, "image_scanning_configuration")?.scan_on_push) === true) return pass("scanned on push");
        const enhanced = index.ofTypeEverywhere("aws_ecr_registry_scanning_configuration").some(
          (c) => str(c.body.scan_type) === "ENHANCED" && blocks(c.body.rule).some((r) => blocks(r.repository_filter).some((f) => str(f.filter) === "*")),
        );
        return enhanced ? pass("the registry's enhanced scanning covers every repository") : fail("images are never scanned: neither scan on push nor registry-wide enhanced scanning");
      }
      if (!isDockerRepository(repo)) return undefined;
      const mode = str(block(repo.body, "vulnerability_scanning_config")?.enablement_config) ?? "INHERITED";
      return mode === "DISABLED" ? fail("vulnerability scanning is DISABLED for the repository") : pass(`vulnerability scanning ${mode}`);
    },
  },
  {
    id: "HIPAA-BINAUTHZ-NO-ALLOW-ALL",
    title: "Binary Authorization policies require attestations instead of allowing every image",
    severity: "critical",
    controls: [Cfr.INTEGRITY, Cfr.EVALUATION],
    resourceTypes: ["google_binary_authorization_policy"],
    fix: "set default_admission_rule { evaluation_mode = \"REQUIRE_ATTESTATION\", enforcement_mode = \"ENFORCED_BLOCK_AND_AUDIT_LOG\", require_attestations_by = [<the environment's KMS-backed attestor>] }, and the same for every cluster_admission_rules",
    equivalents: [],
    evaluate: (policy) => {
      const rules = [
        ["the default admission rule", block(policy.body, "default_admission_rule")],
        ...blocks(policy.body.cluster_admission_rules).map((r) => [`the rule for cluster ${str(r.cluster) ?? "?"}`, r] as const),
      ] as const;
      for (const [what, rule] of rules) {
        const mode = str(rule?.evaluation_mode);
        if (!rule || mode === "ALWAYS_ALLOW") return fail(`${what} allows every image`);
        if (mode === "REQUIRE_ATTESTATION" && !(rule.require_attestations_by && [rule.require_attestations_by].flat().length > 0)) return fail(`${what} requires attestations from no attestor`);
        if (str(rule.enforcement_mode) === "DRYRUN_AUDIT_LOG_ONLY") return fail(`${what} only logs (DRYRUN_AUDIT_LOG_ONLY), so unattested images run`);
      }
      return pass("every admission rule requires an attestation or denies");
    },
  },
  {
    id: "HIPAA-ADMISSION-ENVIRONMENT-KEY",
    title: "Signed-image admission policies verify with this environment's signing key, and enforce",
    severity: "critical",
    controls: [Cfr.INTEGRITY],
    resourceTypes: ["kubernetes_manifest"],
    fix: "verify with the KMS signing key of the same stack (awskms:///<its alias ARN> or gcpkms://<its key>/versions/N) and set the policy to Enforce; a key of another environment, an inline public key or a keyless identity lets images signed elsewhere run here",
    equivalents: [],
    evaluate: (manifest, index) => {
      const policy = admissionKeys(block(manifest.body, "manifest"));
      if (!policy) return undefined;
      const keys = environmentKeys(index);
      if (policy.kms.length === 0 && policy.other.length === 0) return fail(`the ${policy.kind} verifies with no key`);
      if (policy.other.length > 0) return fail(`the ${policy.kind} trusts ${[...new Set(policy.other)].join(" and ")}, which cannot be tied to this environment's KMS signing key`);
      const foreign = policy.kms.filter((uri) => !isEnvironmentKey(uri, keys, index));
      if (foreign.length > 0) {
        return fail(keys.addresses.size === 0 ? `the ${policy.kind} verifies with ${foreign.join(", ")}, but this configuration holds no signing key of its own` : `the ${policy.kind} verifies with ${foreign.join(", ")}, which is not this environment's signing key`);
      }
      if (policy.notEnforcing) return fail(`the ${policy.kind} verifies with this environment's key, but ${policy.notEnforcing}`);
      return pass(`the ${policy.kind} enforces signatures by this environment's key`);
    },
  },
  {
    id: "HIPAA-K8S-NAMESPACE-DEFAULT-DENY",
    title: "Namespaces deny all traffic by default (NetworkPolicy), so only named destinations are reachable",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["kubernetes_namespace", "kubernetes_namespace_v1"],
    fix: "add a kubernetes_network_policy_v1 in the namespace with pod_selector {}, policy_types [\"Ingress\", \"Egress\"] and no rules; open what the workload needs in separate policies",
    equivalents: [],
    evaluate: (namespace, index) => {
      const name = str(block(namespace.body, "metadata")?.name);
      const policies = [...index.ofType("kubernetes_network_policy"), ...index.ofType("kubernetes_network_policy_v1")].filter((p) => {
        const ns = block(p.body, "metadata")?.namespace;
        const refs = new Set<string>();
        collectReferences(ns, refs);
        return refs.has(namespace.address) || (name !== undefined && !name.includes("${") && str(ns) === name);
      });
      return policies.some(isDefaultDeny) ? pass("a default-deny NetworkPolicy covers every pod") : fail(`namespace ${name ?? namespace.address} has no default-deny NetworkPolicy: its pods can reach (and be reached from) anything the cluster network allows`);
    },
  },
];
