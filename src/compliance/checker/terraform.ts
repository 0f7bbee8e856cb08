/**
 * Terraform configuration as the checker sees it: resources with their bodies, from cdktf synth
 * output, any `*.tf.json`, or HCL converted by `@cdktf/hcl2json`.
 *
 * The two JSON shapes differ: cdktf writes `resource.TYPE.NAME = {...}` with nested blocks as
 * objects or arrays; hcl2json writes `resource.TYPE.NAME = [{...}]` and wraps every nested block
 * in an array. Resource bodies are unwrapped here; nested blocks are read through `blocks()` /
 * `block()`, which accept either shape, so rules never care where a file came from.
 */

import { outputMetadata, OutputMetadata } from "./output-metadata";

export type TfValue = unknown;
export type TfBody = Readonly<Record<string, TfValue>>;

export interface TfResource {
  /** `aws_s3_bucket` */
  readonly type: string;
  readonly name: string;
  /** `aws_s3_bucket.name`, or `data.aws_iam_policy_document.name` for data sources. */
  readonly address: string;
  readonly mode: "managed" | "data";
  /** The file (or stack) the resource came from; references resolve only within it. */
  readonly file: string;
  readonly body: TfBody;
  /** The construct path cdktf records in the resource's `"//".metadata.path`, when there is one. */
  readonly constructPath?: string;
}

/** One file or synthesized stack: a unit whose references resolve among its own resources. */
export interface TfUnit {
  readonly file: string;
  readonly resources: readonly TfResource[];
  /** The unit's `locals` (merged when written as several blocks); the substrate marks its stacks there. */
  readonly locals?: TfBody;
  /** What synth recorded about the gate (suppressions, gate state), when cdktf-hipaa-substrate synthesized it. */
  readonly metadata?: OutputMetadata;
}

function unwrap(value: TfValue): TfBody {
  if (Array.isArray(value)) return (value[0] ?? {}) as TfBody;
  return (value ?? {}) as TfBody;
}

/** Builds a unit from a parsed Terraform JSON document (either shape). */
export function unitFromJson(file: string, doc: unknown): TfUnit {
  const resources: TfResource[] = [];
  const root = (doc ?? {}) as Record<string, unknown>;
  for (const [mode, key] of [["managed", "resource"], ["data", "data"]] as const) {
    for (const section of [root[key]].flat()) {
      for (const [type, byName] of Object.entries((section ?? {}) as Record<string, unknown>)) {
        for (const entry of [byName].flat()) {
          for (const [name, value] of Object.entries((entry ?? {}) as Record<string, unknown>)) {
            const body = unwrap(value);
            const constructPath = str((body["//"] as Record<string, Record<string, unknown>> | undefined)?.metadata?.path);
            resources.push({ type, name, mode, file, body, constructPath, address: mode === "data" ? `data.${type}.${name}` : `${type}.${name}` });
          }
        }
      }
    }
  }
  const settings = settingsOf(file, root);
  if (settings) resources.push(settings);
  const locals = Object.assign({}, ...[root.locals].flat().filter((l) => l !== null && typeof l === "object")) as TfBody;
  return { file, resources, locals, metadata: outputMetadata(doc) };
}

/** The pseudo-resource type that carries a unit's stack-level settings. */
export const SETTINGS_TYPE = "terraform_settings";

/**
 * A unit's stack-level settings (the state backend and the `hipaa_environment` local) as one
 * pseudo-resource `terraform_settings.stack`, so stack-level rules (remote state for PHI) are
 * judged by the same engine. Present only when the document has a terraform or locals block.
 * `backend` is `{ TYPE: {...config} }`, or absent for local state.
 */
function settingsOf(file: string, root: Record<string, unknown>): TfResource | undefined {
  if (root.terraform === undefined && root.locals === undefined) return undefined;
  const backendBlock = blocks(root.terraform).map((t) => t.backend).find((b) => b !== undefined);
  const backend = backendBlock ? Object.fromEntries(Object.entries(unwrap(backendBlock)).map(([type, config]) => [type, unwrap(config)])) : undefined;
  const locals = Object.assign({}, ...blocks(root.locals)) as Record<string, unknown>;
  return {
    type: SETTINGS_TYPE,
    name: "stack",
    mode: "managed",
    file,
    address: `${SETTINGS_TYPE}.stack`,
    body: { backend, hipaa_environment: unwrap(locals.hipaa_environment as TfValue) },
  };
}

/** Nested blocks as a list, whichever shape they were written in. */
export function blocks(value: TfValue): TfBody[] {
  if (Array.isArray(value)) return value.filter((v) => v !== null && typeof v === "object") as TfBody[];
  if (value !== null && typeof value === "object") return [value as TfBody];
  return [];
}

/** The first nested block, or undefined. */
export function block(body: TfBody | undefined, key: string): TfBody | undefined {
  return body ? blocks(body[key])[0] : undefined;
}

/** Follows a path of nested blocks: `path(body, "rule", "default_retention")`. */
export function path(body: TfBody | undefined, ...keys: string[]): TfBody | undefined {
  let current = body;
  for (const key of keys) current = block(current, key);
  return current;
}

/** A value as a boolean, accepting Terraform's `"true"`/`"false"` strings. */
export function bool(value: TfValue): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (value === "true") return true;
  if (value === "false") return false;
  return undefined;
}

/** A value as a number, accepting numeric strings. */
export function num(value: TfValue): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  return undefined;
}

export function str(value: TfValue): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** A value as a list of strings (a single string counts as one). */
export function strings(value: TfValue): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}

/** True when the value is a Terraform expression (`${...}`) rather than a literal. */
export function isExpression(value: TfValue): boolean {
  return typeof value === "string" && value.includes("${");
}
