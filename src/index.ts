/**
 * cdktf-hipaa-substrate: the public API.
 *
 * Import the core as `cdktf` and providers by deep path; this entry re-exports the model, the
 * compliance catalog and the constructs.
 */
export * from "./errors";
export * from "./model";
export * from "./compliance";
export * from "../constructs/aws";
export * from "../constructs/gcp";
export * from "../constructs/github";
export * from "../constructs/gitlab";
export * from "../constructs/kubernetes";
export * from "../stacks";
