export * from "./gitlab-group";
export * from "./gitlab-project-protections";
export * from "./gitlab-protected-environment";
export * from "./gitlab-protected-runner";
