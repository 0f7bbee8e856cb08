import { HipaaConfigError } from "../errors";
import { Environment } from "./environment";

/** The scans the deploy gate reads from the evidence bundle (`input.scans.<kind>`). */
export enum ScanKind {
  CONTAINER = "container",
  SAST = "sast",
  IAC = "iac",
  SECRETS = "secrets",
}

export interface ScanThresholdsProps {
  /** Critical findings allowed in the container image scan (Trivy, Grype). @default 0 */
  readonly containerCritical?: number;
  /** Critical findings allowed in static analysis (CodeQL, Semgrep). @default 0 */
  readonly sastCritical?: number;
  /** Critical findings allowed in the IaC scan (Checkov, tfsec). @default 0 */
  readonly iacCritical?: number;
  /** Secrets found (Gitleaks, TruffleHog). @default 0 */
  readonly secretsFindings?: number;
  /** Stricter than the default: also cap high-severity container findings. @default - not capped */
  readonly containerHigh?: number;
  /** Stricter than the default: also cap high-severity SAST findings. @default - not capped */
  readonly sastHigh?: number;
  /** Stricter than the default: also cap high-severity IaC findings. @default - not capped */
  readonly iacHigh?: number;
  /**
   * Why an environment without PHI may deploy with critical findings or secrets (at least 20
   * characters; recorded in the gate's data). Never accepted for a PHI environment.
   * @default - no relaxation: every critical and secrets threshold is 0
   */
  readonly relaxationReason?: string;
}

/** `{ container: { critical: 0 }, ..., secrets: { findings: 0 } }`, as the gate's data holds it. */
export type ScanThresholdDocument = Readonly<Record<ScanKind, Readonly<Record<string, number>>>>;

const MIN_REASON = 20;

/**
 * The most findings of each kind a deploy may carry (45 CFR 164.308(a)(1)(ii)(B) risk management,
 * 164.308(a)(8) evaluation). The floor is zero critical findings in container, SAST and IaC scans
 * and zero secrets; an environment may be stricter (caps on high findings) but only an
 * environment without PHI may be looser, and only with a recorded reason.
 */
export class ScanThresholds {
  public readonly environment: Environment;
  public readonly relaxationReason?: string;
  private readonly limits: Record<ScanKind, Record<string, number>>;

  constructor(environment: Environment, props: ScanThresholdsProps = {}, path = `ScanThresholds ${environment.name}`) {
    const limits: Record<ScanKind, Record<string, number>> = {
      [ScanKind.CONTAINER]: { critical: props.containerCritical ?? 0 },
      [ScanKind.SAST]: { critical: props.sastCritical ?? 0 },
      [ScanKind.IAC]: { critical: props.iacCritical ?? 0 },
      [ScanKind.SECRETS]: { findings: props.secretsFindings ?? 0 },
    };
    if (props.containerHigh !== undefined) limits.container.high = props.containerHigh;
    if (props.sastHigh !== undefined) limits.sast.high = props.sastHigh;
    if (props.iacHigh !== undefined) limits.iac.high = props.iacHigh;

    for (const [kind, measures] of Object.entries(limits)) {
      for (const [measure, limit] of Object.entries(measures)) {
        if (!Number.isInteger(limit) || limit < 0) {
          throw new HipaaConfigError({ path, problem: `${kind} ${measure} threshold ${JSON.stringify(limit)} is not a whole number of findings`, fix: "use 0 or a positive integer" });
        }
      }
    }
    const looser = Object.entries(limits).flatMap(([kind, m]) => ["critical", "findings"].filter((k) => (m[k] ?? 0) > 0).map((k) => `${kind} ${k} ${m[k]}`));
    if (looser.length > 0) {
      if (environment.handlesPhi) {
        throw new HipaaConfigError({
          path,
          problem: `${looser.join(", ")} would let a deploy to PHI environment "${environment.name}" carry known critical findings or secrets`,
          cfr: "164.308(a)(1)(ii)(B)",
          fix: "keep critical and secrets thresholds at 0 for PHI environments (stricter caps on high findings are accepted)",
        });
      }
      if (!props.relaxationReason || props.relaxationReason.trim().length < MIN_REASON) {
        throw new HipaaConfigError({
          path,
          problem: `${looser.join(", ")} is looser than the default of 0 without a reason`,
          cfr: "164.308(a)(1)(ii)(B)",
          fix: `pass relaxationReason (at least ${MIN_REASON} characters) saying why "${environment.name}" may deploy with these findings; the reason is recorded in the gate's data`,
        });
      }
      this.relaxationReason = props.relaxationReason.trim();
    }
    this.environment = environment;
    this.limits = limits;
  }

  /** The thresholds as the gate's data document holds them. */
  public toDocument(): ScanThresholdDocument {
    return JSON.parse(JSON.stringify(this.limits)) as ScanThresholdDocument;
  }
}
