export * from "./aws-environment-stack";
