export * from "./aws-environment-stack";
export * from "./gcp-environment-stack";
export * from "./hipaa-substrate";
export * from "./environment-declaration";
export * from "./deploy-gate";
export * from "./gitlab-governance-stack";
export * from "./aws-archive-stack";
export * from "./gcp-archive-stack";
