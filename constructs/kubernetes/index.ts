export * from "./signed-image-admission";
export * from "./runner-namespace";
