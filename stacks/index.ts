export * from "./aws-environment-stack";
export * from "./gcp-environment-stack";
