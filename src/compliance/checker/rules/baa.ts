import { Cfr } from "../../catalog";
import { ANY_TYPE, fail, pass, Rule } from "../rule";
import { bool, strings, TfBody } from "../terraform";

/**
 * Which cloud service a Terraform resource type belongs to, named as the BAA registry names it
 * (`aws:<IAM prefix>`, `gcp:<API name>`). Identity and account control planes (IAM, service
 * accounts, projects, enabled APIs) never hold PHI and are not judged (`null`); resource types
 * of other providers (GitHub, Kubernetes, random, ...) are not cloud services (`undefined`).
 */
export function cloudServiceOf(type: string): string | null | undefined {
  for (const [prefix, service] of SERVICE_PREFIXES) if (type === prefix || type.startsWith(`${prefix}_`)) return service;
  // Otherwise the provider's own naming: aws_<service>_..., google_<service>_...
  const m = /^(aws|google)_([a-z0-9]+)/.exec(type);
  if (!m) return undefined;
  return `${m[1] === "aws" ? "aws" : "gcp"}:${m[2]}`;
}

// Longest prefixes first where they overlap (aws_s3control before aws_s3 is not needed: same service).
const SERVICE_PREFIXES: ReadonlyArray<readonly [string, string | null]> = [
  // AWS control plane: identities and policies, no PHI.
  ["aws_iam", null],
  ["aws_organizations", null],
  ["aws_s3", "aws:s3"],
  ["aws_s3control", "aws:s3"],
  ["aws_kms", "aws:kms"],
  ["aws_eks", "aws:eks"],
  ["aws_ecr", "aws:ecr"],
  ["aws_cloudwatch_log", "aws:logs"],
  // EventBridge keeps its CloudWatch Events names in Terraform; its IAM prefix is events.
  ["aws_cloudwatch_event", "aws:events"],
  // EC2 under its Terraform names: instances, launch templates, EBS, VPC networking.
  ["aws_instance", "aws:ec2"],
  ["aws_launch_template", "aws:ec2"],
  ["aws_ebs", "aws:ec2"],
  ["aws_ec2", "aws:ec2"],
  ["aws_vpc", "aws:ec2"],
  ["aws_subnet", "aws:ec2"],
  ["aws_security_group", "aws:ec2"],
  ["aws_route", "aws:ec2"],
  ["aws_nat_gateway", "aws:ec2"],
  ["aws_internet_gateway", "aws:ec2"],
  ["aws_network_interface", "aws:ec2"],
  ["aws_eip", "aws:ec2"],
  ["aws_db", "aws:rds"],
  ["aws_rds", "aws:rds"],
  ["aws_lb", "aws:elasticloadbalancing"],
  ["aws_alb", "aws:elasticloadbalancing"],
  // GCP control plane.
  ["google_project_iam", null],
  ["google_project_service", null],
  ["google_project", null],
  ["google_service_account", null],
  ["google_iam", null],
  ["google_organization", null],
  ["google_folder", null],
  // Admission control planes: a policy, its attestors and their notes name images and keys, never PHI.
  ["google_binary_authorization", null],
  ["google_container_analysis_note", null],
  ["google_storage", "gcp:storage"],
  ["google_kms", "gcp:cloudkms"],
  ["google_container", "gcp:container"],
  ["google_compute", "gcp:compute"],
  ["google_artifact_registry", "gcp:artifactregistry"],
  ["google_logging", "gcp:logging"],
  ["google_sql", "gcp:sqladmin"],
];

interface SubstrateMarker {
  readonly environment: string;
  readonly handlesPhi: boolean;
  readonly services: readonly string[];
}

function marker(locals: TfBody | undefined): SubstrateMarker | undefined {
  const raw = [locals?.hipaa_substrate].flat()[0] as TfBody | undefined;
  if (!raw || typeof raw !== "object") return undefined;
  return { environment: String(raw.environment ?? "?"), handlesPhi: bool(raw.handles_phi) === true, services: strings(raw.baa_services) };
}

export const BAA_RULES: readonly Rule[] = [
  {
    id: "HIPAA-BAA-SERVICE",
    title: "A PHI environment uses only cloud services its Business Associate Agreement covers",
    severity: "critical",
    controls: [Cfr.BUSINESS_ASSOCIATES],
    resourceTypes: [ANY_TYPE],
    fix: "move the resource out of the PHI environment, or, if your BAA covers the service, add it to the registry: BaaRegistry.substrateDefaults().with({ id, name, source }) passed as deployGate.baa",
    equivalents: [],
    // Applies to stacks that say they hold PHI (locals.hipaa_substrate, written by the substrate's
    // environment stacks with the registry of the user's BAA); other configurations are not judged.
    evaluate: (r, index) => {
      const stack = index.memoize("baa-marker", () => marker(index.unit.locals));
      if (!stack?.handlesPhi) return undefined;
      const service = cloudServiceOf(r.type);
      if (!service) return undefined;
      return stack.services.includes(service)
        ? pass(`${service} is covered by the BAA registry`)
        : fail(`${r.type} is a resource of ${service}, which the BAA registry of PHI environment "${stack.environment}" does not cover`);
    },
  },
];
