export * from "./signed-image-admission";
