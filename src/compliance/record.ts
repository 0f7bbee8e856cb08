import { IConstruct } from "constructs";
import { TerraformDataSource, TerraformResource } from "cdktf";
import { hipaaControl } from "./catalog";

/**
 * What each construct records about the controls it implements, so the control map can say,
 * for every CFR section, which construct implements it through which Terraform resources, and
 * which weakenings were accepted with which written reason.
 *
 * The record lives beside the construct tree (a WeakMap), not in the synthesized JSON.
 */

export interface ControlImplementationInput {
  /** CFR section, from `Cfr`. */
  readonly section: string;
  /** The resources (or data sources) that implement it. */
  readonly resources: readonly IConstruct[];
  /** How, in a sentence an auditor can read. */
  readonly how: string;
}

export interface ControlExceptionInput {
  readonly section: string;
  /** What was weakened, e.g. "retention 365 days (below 2190)". */
  readonly what: string;
  /** The caller's written reason. */
  readonly reason: string;
}

export interface ControlImplementation {
  readonly section: string;
  readonly constructPath: string;
  /** Terraform addresses, `aws_s3_bucket.foo` / `data.aws_iam_policy_document.bar`. */
  readonly resources: readonly string[];
  readonly how: string;
}

export interface ControlException {
  readonly section: string;
  readonly constructPath: string;
  readonly what: string;
  readonly reason: string;
}

interface Entries {
  implementations: ControlImplementationInput[];
  exceptions: ControlExceptionInput[];
}

const RECORDS = new WeakMap<IConstruct, Entries>();

function entriesOf(construct: IConstruct): Entries {
  let entries = RECORDS.get(construct);
  if (!entries) {
    entries = { implementations: [], exceptions: [] };
    RECORDS.set(construct, entries);
  }
  return entries;
}

/** Records that `construct` implements a control through `resources`. */
export function recordControl(construct: IConstruct, input: ControlImplementationInput): void {
  hipaaControl(input.section);
  entriesOf(construct).implementations.push(input);
}

/** Records a weakening the caller accepted with a reason. */
export function recordException(construct: IConstruct, input: ControlExceptionInput): void {
  hipaaControl(input.section);
  entriesOf(construct).exceptions.push(input);
}

/** The Terraform address of a resource or data source construct. */
export function terraformAddress(element: IConstruct): string {
  if (TerraformResource.isTerraformResource(element)) {
    return `${element.terraformResourceType}.${element.friendlyUniqueId}`;
  }
  if (TerraformDataSource.isTerraformDataSource(element)) {
    return `data.${element.terraformResourceType}.${element.friendlyUniqueId}`;
  }
  return element.node.path;
}

/** Everything recorded in `scope` and below, in construct-tree order. */
export function collectControlRecords(scope: IConstruct): {
  implementations: ControlImplementation[];
  exceptions: ControlException[];
} {
  const implementations: ControlImplementation[] = [];
  const exceptions: ControlException[] = [];
  for (const construct of scope.node.findAll()) {
    const entries = RECORDS.get(construct);
    if (!entries) continue;
    for (const i of entries.implementations) {
      implementations.push({
        section: i.section,
        constructPath: construct.node.path,
        resources: i.resources.map(terraformAddress),
        how: i.how,
      });
    }
    for (const e of entries.exceptions) {
      exceptions.push({ section: e.section, constructPath: construct.node.path, what: e.what, reason: e.reason });
    }
  }
  return { implementations, exceptions };
}
