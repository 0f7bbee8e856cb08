import { App, TerraformStack, Testing } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { GithubProvider } from "@cdktf/provider-github/lib/provider";
import { Environment, EnvironmentTier } from "../../src/model";

export const production = new Environment({ name: "production", tier: EnvironmentTier.PRODUCTION });
export const dev = new Environment({ name: "dev", tier: EnvironmentTier.DEVELOPMENT });

/** A stack with an AWS provider, inside a Testing app (stubbed versions, stable snapshots). */
export function awsStack(id = "test"): { app: App; stack: TerraformStack } {
  const app = Testing.app();
  const stack = new TerraformStack(app, id);
  new AwsProvider(stack, "aws", { region: "us-east-1" });
  return { app, stack };
}

export interface SynthResult {
  /** The synthesized JSON as cdktf's matchers want it. */
  readonly json: string;
  readonly tf: { resource: Record<string, Record<string, Record<string, any>>>; data?: Record<string, Record<string, any>> };
}

/** Synthesizes with validations on. */
export function synth(stack: TerraformStack): SynthResult {
  const json = Testing.synth(stack, true);
  return { json, tf: JSON.parse(json) };
}

/** Every stack of an app, synthesized with validations on, by stack id. */
export function synthAll(app: App): Map<string, SynthResult> {
  return new Map(
    app.node.children
      .filter((c): c is TerraformStack => TerraformStack.isStack(c))
      .map((s) => [s.node.id, synth(s)]),
  );
}

/** All resources of one type, by logical name. */
export function resourcesOf(result: SynthResult, type: string): Record<string, Record<string, any>> {
  return result.tf.resource[type] ?? {};
}

/**
 * The logical name of the single resource of `type` at construct path `path` (below the stack),
 * e.g. "Evidence/Bucket" -> "Evidence_Bucket_1A2B3C4D". Testing.synth strips the path metadata,
 * so this matches cdktf's logical-ID scheme: path components joined by "_" plus a hash.
 */
export function logicalIdAt(result: SynthResult, type: string, path: string): string {
  // cdktf drops a component that the previous one ends with ("SigningKey/Key" -> "SigningKey").
  const parts = path.split("/").filter((c, i, all) => i === 0 || !all[i - 1].endsWith(c));
  const prefix = parts.join("_");
  const matches = Object.keys(resourcesOf(result, type)).filter((id) => id === prefix || new RegExp(`^${prefix}_[0-9A-F]{8}$`).test(id));
  if (matches.length !== 1) throw new Error(`expected one ${type} at ${path}, found ${matches.length} in ${Object.keys(resourcesOf(result, type)).join(", ")}`);
  return matches[0];
}

/** The single resource of a type at a construct path below the stack. */
export function resourceAt(result: SynthResult, type: string, path: string): Record<string, any> {
  return resourcesOf(result, type)[logicalIdAt(result, type, path)];
}

/** `${type.logicalId.attribute}` for the resource at a construct path. */
export function refAt(result: SynthResult, type: string, path: string, attribute: string): string {
  return "${" + `${type}.${logicalIdAt(result, type, path)}.${attribute}` + "}";
}

export interface Statement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Principal?: any;
  Action: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** The statements of a rendered IAM policy string. */
export function statements(policy: string): Statement[] {
  return JSON.parse(policy).Statement;
}

export function actionsOf(s: Statement): string[] {
  return Array.isArray(s.Action) ? s.Action : [s.Action];
}

export function statement(policy: string, sid: string): Statement {
  const found = statements(policy).find((s) => s.Sid === sid);
  if (!found) throw new Error(`no statement ${sid} in ${policy}`);
  return found;
}

/** Runs `fn` and returns the HipaaConfigError message it throws. */
export function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected a refusal, but nothing was thrown");
}

/** A stack with a Google provider, inside a Testing app. */
export function gcpStack(id = "test"): { app: App; stack: TerraformStack } {
  const app = Testing.app();
  const stack = new TerraformStack(app, id);
  new GoogleProvider(stack, "google", { project: "hipaa-health-prod", region: "us-central1" });
  return { app, stack };
}

/** A stack with a GitHub provider, inside a Testing app. */
export function githubStack(id = "test"): { app: App; stack: TerraformStack } {
  const app = Testing.app();
  const stack = new TerraformStack(app, id);
  new GithubProvider(stack, "github", { owner: "hipaa-app-org" });
  return { app, stack };
}
