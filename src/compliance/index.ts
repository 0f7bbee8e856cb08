export * from "./catalog";
export * from "./record";
export { ALL_RULES, collectFiles, evaluate, judge, loadUnits, OUTPUT_METADATA_KEY, outputMetadata, parseHclExpression, patternCovers, policyStatements, resourceNames, ResourceIndex, TerraformParseError, unitFromJson, unknownRulePattern } from "./checker";
export type { Finding, Judgement, JudgedFinding, KicsQuery, OutputMetadata, Rule, Severity, Suppression, TfResource, TfUnit, Verdict } from "./checker";
// The on-demand map the synth gate streams (VerdictsOnDemand, controlMapOnDemand) stays internal.
export { buildControlMap, controlMapMarkdownHeader, controlMapMarkdownSection, GATE_SKIPPED, renderControlMapMarkdown } from "./control-map";
export type { ControlMap, ControlMapContext, ControlMapSection, ControlMapVerdict } from "./control-map";
export * from "./aspect";
export { judgeTrustStatement } from "./checker/trust-judgement";
