import { Construct } from "constructs";
import { ActionsRunnerGroup } from "@cdktf/provider-github/lib/actions-runner-group";
import { HipaaConfigError } from "../../src/errors";
import { Environment, GithubFeature, GithubPlan, RepositoryRef, requireFeature, WorkflowRef } from "../../src/model";
import { Cfr, recordControl, recordException } from "../../src/compliance";

export interface RunnerGroupProps {
  readonly environment: Environment;
  readonly plan: GithubPlan;
  /** The repositories whose jobs may use the environment's runners (numeric ids required). */
  readonly repositories: readonly RepositoryRef[];
  /**
   * The compliance workflows whose jobs may use the runners. GitHub grants a restricted group
   * only to jobs defined directly in a selected workflow, so these are the reusable workflows
   * themselves (whose jobs run on the runners), not the application repositories' callers.
   * Each must name an exact tag (build them from one `ApprovedRelease`): GitHub matches
   * `selected_workflows` entries exactly, so a `v*` entry admits no run.
   */
  readonly workflows: readonly WorkflowRef[];
  /**
   * Skip the workflow restriction (for plans without it). Refused for PHI environments;
   * elsewhere needs `unrestrictedReason`.
   * @default false
   */
  readonly allowAnyWorkflow?: boolean;
  /** @default - none */
  readonly unrestrictedReason?: string;
  /** @default `hipaa-ENV` */
  readonly name?: string;
}

/**
 * An organization runner group for one environment's self-hosted runners: visible to selected
 * repositories only, never to public repositories, and restricted to the compliance workflows.
 * Needs an organization on the Team plan or above; the workflow restriction needs Enterprise.
 */
export class RunnerGroup extends Construct {
  public readonly group: ActionsRunnerGroup;

  constructor(scope: Construct, id: string, props: RunnerGroupProps) {
    super(scope, id);
    const path = this.node.path;
    requireFeature(path, props.plan, GithubFeature.RUNNER_GROUPS);
    if (props.repositories.length === 0) {
      throw new HipaaConfigError({ path, problem: "no repository may use the runners", fix: "list the repositories that deploy to this environment" });
    }
    const missing = props.repositories.find((r) => r.repositoryId === undefined);
    if (missing) {
      throw new HipaaConfigError({ path, problem: `repository ${missing.fullName} has no numeric id`, fix: "pass repositoryId; runner groups select repositories by id" });
    }
    const restricted = !props.allowAnyWorkflow;
    if (restricted) {
      requireFeature(path, props.plan, GithubFeature.RUNNER_GROUP_WORKFLOW_RESTRICTION);
      if (props.workflows.length === 0) {
        throw new HipaaConfigError({ path, problem: "no workflow may use the runners", fix: "list the compliance workflows whose jobs run here" });
      }
      const pattern = props.workflows.find((w) => w.isTagPattern);
      if (pattern) {
        throw new HipaaConfigError({
          path,
          problem: `selected workflow ${pattern.jobWorkflowRef} has a tag pattern, but GitHub matches a runner group's selected workflows exactly, so the group would admit no run`,
          cfr: Cfr.ACCESS_CONTROL,
          fix: "pin each workflow to the approved release, e.g. new WorkflowRef({ repository, path, release: ApprovedRelease.parse(\"v1.4.2\") })",
        });
      }
    } else {
      const reason = props.unrestrictedReason?.trim();
      if (props.environment.handlesPhi || !reason || reason.length < 20) {
        throw new HipaaConfigError({
          path,
          problem: `the runner group of ${props.environment.handlesPhi ? "PHI " : ""}environment "${props.environment.name}" would admit any workflow of the selected repositories`,
          cfr: Cfr.ACCESS_CONTROL,
          fix: props.environment.handlesPhi ? "restrict the group to the compliance workflows (GitHub Enterprise)" : "restrict it to the compliance workflows, or pass unrestrictedReason (at least 20 characters)",
        });
      }
      recordException(this, { section: Cfr.ACCESS_CONTROL, what: `runner group for ${props.environment.name} not restricted to workflows`, reason });
    }
    this.group = new ActionsRunnerGroup(this, "Group", {
      name: props.name ?? `hipaa-${props.environment.name}`,
      visibility: "selected",
      selectedRepositoryIds: props.repositories.map((r) => r.repositoryId!),
      allowsPublicRepositories: false,
      restrictedToWorkflows: restricted,
      selectedWorkflows: restricted ? props.workflows.map((w) => w.jobWorkflowRef) : undefined,
    });
    recordControl(this, {
      section: Cfr.ACCESS_CONTROL,
      resources: [this.group],
      how: `${props.environment.name} runners serve only ${props.repositories.map((r) => r.fullName).join(", ")}${restricted ? ` and only jobs of ${props.workflows.map((w) => w.jobWorkflowRef).join(", ")}` : ""}.`,
    });
  }
}
