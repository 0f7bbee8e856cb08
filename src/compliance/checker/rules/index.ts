import { Rule } from "../rule";
import { AWS_RULES } from "./aws";
import { AWS_IDENTITY_RULES } from "./aws-identity";
import { BAA_RULES } from "./baa";
import { GCP_RULES, GITHUB_RULES } from "./gcp-github";

/** Every rule of the HIPAA substrate checker. */
export const ALL_RULES: readonly Rule[] = [...AWS_RULES, ...AWS_IDENTITY_RULES, ...GCP_RULES, ...GITHUB_RULES, ...BAA_RULES];
