export * from "./terraform";
export * from "./links";
export * from "./rule";
export * from "./load";
export * from "./rules";
export * from "./output-metadata";
export * from "./suppressions";
export * from "./resource-names";
