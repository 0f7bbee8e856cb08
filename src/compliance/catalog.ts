/**
 * The HIPAA Security Rule sections (45 CFR Part 164 Subpart C) the substrate serves, each with
 * the question an auditor asks of a pipeline (from the seeds' audit checklist and engagements).
 * The control map is written from this catalog and from what each construct records.
 */

export interface HipaaControl {
  /** The section without the "45 CFR" prefix, e.g. `164.312(b)`. */
  readonly section: string;
  /** The standard or implementation specification's title in the regulation. */
  readonly title: string;
  /** The question the auditor asks of the pipeline. */
  readonly auditorQuestion: string;
  /** What the substrate builds to answer it. */
  readonly substrateAnswer: string;
}

const CONTROLS: readonly HipaaControl[] = [
  {
    section: "164.308(a)(1)(ii)(D)",
    title: "Information system activity review",
    auditorQuestion: "Show me the last 90 days of admin actions on production, and where those records are kept where nobody can edit them.",
    substrateAnswer: "Server access logs and evidence land in retention-locked buckets outside the deploy path; read access is a separate auditor grant.",
  },
  {
    section: "164.308(a)(3)",
    title: "Workforce security",
    auditorQuestion: "Show me when this developer was granted production access and when it was revoked.",
    substrateAnswer: "Access is granted through typed grants and team membership in code, so every grant is a reviewed change with a history.",
  },
  {
    section: "164.308(a)(4)",
    title: "Information access management",
    auditorQuestion: "Show me, by named identity, every human who has deployed to production in the last 90 days.",
    substrateAnswer: "Deploy roles trust one repository, one environment and one pinned workflow; signers are separated from key administrators.",
  },
  {
    section: "164.308(a)(5)(ii)(C)",
    title: "Log-in monitoring",
    auditorQuestion: "Which authenticated identity performed this deployment, and where is that authentication recorded?",
    substrateAnswer: "CI authenticates with short-lived OIDC tokens; every use of a key or bucket is attributable in the cloud's audit log.",
  },
  {
    section: "164.308(a)(8)",
    title: "Evaluation",
    auditorQuestion: "How do you stop a deploy if a scanner finds a critical CVE?",
    substrateAnswer: "Scanners and the synth-time compliance checks are gates: a failing resource fails synthesis, and scan results are stored as evidence.",
  },
  {
    section: "164.308(b)(1)",
    title: "Business associate contracts and other arrangements",
    auditorQuestion: "Which cloud services hold or process PHI, and does your Business Associate Agreement cover each of them?",
    substrateAnswer: "A typed BAA registry lists the covered services; a PHI environment stack with a resource of any other service fails the check, and the deploy gate refuses such deploys.",
  },
  {
    section: "164.312(a)(1)",
    title: "Access control",
    auditorQuestion: "Show me which runner deployed this artifact, and demonstrate the runner cannot reach any other environment.",
    substrateAnswer: "Per-environment resources and roles; grants name one principal and one resource, never a wildcard.",
  },
  {
    section: "164.312(a)(2)(iv)",
    title: "Encryption and decryption",
    auditorQuestion: "Which key encrypts the evidence, who controls it, and who can decrypt it?",
    substrateAnswer: "Evidence is encrypted with a customer-managed, rotating KMS key whose policy names who may encrypt and who may decrypt.",
  },
  {
    section: "164.312(b)",
    title: "Audit controls",
    auditorQuestion: "Can engineers alter the audit log? Show me the deploy event for this production release, with the approver identity and timestamp.",
    substrateAnswer: "Evidence buckets with Object Lock in COMPLIANCE mode: CI can write, nobody (root included) can delete or shorten retention.",
  },
  {
    section: "164.312(c)(1)",
    title: "Integrity",
    auditorQuestion: "Which signing key produced the artifact running in the prod cluster, and show me that it has not been tampered with.",
    substrateAnswer: "Artifacts are signed with a KMS asymmetric key (cosign awskms:// / gcpkms://) that only named signers can use; evidence objects are immutable.",
  },
  {
    section: "164.312(d)",
    title: "Person or entity authentication",
    auditorQuestion: "What stops a dev branch from assuming the production role?",
    substrateAnswer: "Cloud trusts match the exact OIDC subject, repository id, environment and workflow ref; wildcards are refused.",
  },
  {
    section: "164.312(e)(1)",
    title: "Transmission security",
    auditorQuestion: "Show me that evidence and deploys travel only over encrypted, authenticated channels.",
    substrateAnswer: "Bucket policies deny any request without TLS (aws:SecureTransport false).",
  },
  {
    section: "164.316(b)(2)(i)",
    title: "Documentation: time limit (retain six years)",
    auditorQuestion: "Show me the security review for a release from five years ago.",
    substrateAnswer: "Evidence retention is locked for at least six years (2190 days); a shorter period is refused unless a reason is recorded.",
  },
];

const BY_SECTION = new Map(CONTROLS.map((c) => [c.section, c]));

/** Every control in the catalog, in regulation order. */
export function hipaaControls(): readonly HipaaControl[] {
  return CONTROLS;
}

/** The catalog entry for a section; throws for a section the catalog does not hold. */
export function hipaaControl(section: string): HipaaControl {
  const control = BY_SECTION.get(section);
  if (!control) {
    throw new Error(`45 CFR ${section} is not in the control catalog; known: ${CONTROLS.map((c) => c.section).join(", ")}`);
  }
  return control;
}

/** Named sections, so constructs cannot misspell one. */
export const Cfr = {
  ACTIVITY_REVIEW: "164.308(a)(1)(ii)(D)",
  WORKFORCE_SECURITY: "164.308(a)(3)",
  ACCESS_MANAGEMENT: "164.308(a)(4)",
  LOGIN_MONITORING: "164.308(a)(5)(ii)(C)",
  EVALUATION: "164.308(a)(8)",
  BUSINESS_ASSOCIATES: "164.308(b)(1)",
  ACCESS_CONTROL: "164.312(a)(1)",
  ENCRYPTION: "164.312(a)(2)(iv)",
  AUDIT_CONTROLS: "164.312(b)",
  INTEGRITY: "164.312(c)(1)",
  AUTHENTICATION: "164.312(d)",
  TRANSMISSION_SECURITY: "164.312(e)(1)",
  RETENTION: "164.316(b)(2)(i)",
} as const;
