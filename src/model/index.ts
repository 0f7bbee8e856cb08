export * from "./environment";
export * from "./retention";
export * from "./repository";
