export * from "./terraform";
export * from "./links";
export * from "./rule";
export * from "./load";
export * from "./rules";
