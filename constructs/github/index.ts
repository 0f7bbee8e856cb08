export * from "./compliance-workflows-repository";
export * from "./oidc-claim-template";
export * from "./protected-environment";
export * from "./runner-group";
export * from "./application-repository-rulesets";
