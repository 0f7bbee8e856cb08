export * from "./catalog";
export * from "./record";
export { ALL_RULES, collectFiles, evaluate, loadUnits, ResourceIndex, unitFromJson } from "./checker";
export type { Finding, Judgement, Rule, Severity, TfResource, TfUnit, Verdict } from "./checker";
export * from "./control-map";
export * from "./aspect";
export { judgeTrustStatement } from "./checker/trust-judgement";
