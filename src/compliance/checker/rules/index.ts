import { Rule } from "../rule";
import { AWS_RULES } from "./aws";
import { AWS_IDENTITY_RULES } from "./aws-identity";
import { GCP_RULES, GITHUB_RULES } from "./gcp-github";
import { GCP_APPLY_READINESS_RULES } from "./apply-readiness-gcp";

/** Every rule of the HIPAA substrate checker. */
export const ALL_RULES: readonly Rule[] = [...AWS_RULES, ...AWS_IDENTITY_RULES, ...GCP_RULES, ...GITHUB_RULES, ...GCP_APPLY_READINESS_RULES];
