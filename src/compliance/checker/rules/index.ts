import { Rule } from "../rule";
import { AWS_RULES } from "./aws";
import { AWS_IDENTITY_RULES } from "./aws-identity";
import { APPLY_READINESS_AWS_RULES } from "./apply-readiness-aws";
import { BAA_RULES } from "./baa";
import { GCP_RULES, GITHUB_RULES } from "./gcp-github";
import { GITHUB_APPLY_READINESS_RULES } from "./apply-readiness-github";
import { GCP_APPLY_READINESS_RULES } from "./apply-readiness-gcp";
import { CI_TRUST_RULES } from "./ci-trust";
import { SUPPLY_CHAIN_RULES } from "./supply-chain";
import { PARITY_RULES } from "./parity";

/** Every rule of the HIPAA substrate checker. */
export const ALL_RULES: readonly Rule[] = [
  ...AWS_RULES,
  ...AWS_IDENTITY_RULES,
  ...GCP_RULES,
  ...GITHUB_RULES,
  ...APPLY_READINESS_AWS_RULES,
  ...GCP_APPLY_READINESS_RULES,
  ...GITHUB_APPLY_READINESS_RULES,
  ...CI_TRUST_RULES,
  ...BAA_RULES,
  ...SUPPLY_CHAIN_RULES,
  ...PARITY_RULES,
];
