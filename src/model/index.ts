export * from "./environment";
export * from "./retention";
export * from "./release";
export * from "./repository";
export * from "./gitlab";
export * from "./github-oidc";
export * from "./github-plan";
export * from "./runner-purpose";
