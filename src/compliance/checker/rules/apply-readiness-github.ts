import { Cfr } from "../../catalog";
import { collectReferences, ResourceIndex } from "../links";
import { fail, pass, Rule } from "../rule";
import { block, blocks, bool, str, strings, TfResource } from "../terraform";

/**
 * Apply readiness, GitHub side: configurations every scanner accepts and GitHub accepts at apply,
 * which then silently fail to do their job: a runner group that admits no run, reusable workflows
 * nobody else may call.
 */

const WILDCARD = /[*?\[\]]/;
// `OWNER/REPO/.github/workflows/FILE@REF` (a runner group's selected workflow, a job_workflow_ref).
const WORKFLOW_REF = /^([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+)\/\.github\/workflows\/[^@]+@.+$/;
const SHARED = ["organization", "enterprise"];

/**
 * Repository names whose workflows a runner group admits for other repositories' jobs, with the
 * group and entry that say so. A group that lists the repository itself among its repositories
 * (by reference) serves that repository's own jobs, which does not make the workflow reusable.
 */
function calledByRunnerGroups(index: ResourceIndex): Map<string, string> {
  return index.memoize("github-runner-group-workflow-repos", () => {
    const called = new Map<string, string>();
    const repositories = index.ofTypeEverywhere("github_repository");
    for (const group of index.ofTypeEverywhere("github_actions_runner_group")) {
      const referenced = new Set<string>();
      collectReferences(group.body.selected_repository_ids, referenced);
      const ownNames = new Set(repositories.filter((r) => r.file === group.file && referenced.has(r.address)).map((r) => str(r.body.name)));
      for (const workflow of strings(group.body.selected_workflows)) {
        const repo = WORKFLOW_REF.exec(workflow)?.[2];
        if (repo && !ownNames.has(repo) && !called.has(repo)) called.set(repo, `${group.address} admits jobs of ${workflow}`);
      }
    }
    return called;
  });
}

/** Why the repository is taken to hold reusable workflows other repositories call, or undefined. */
function reusableWorkflowHolder(repo: TfResource, index: ResourceIndex): string | undefined {
  const name = str(repo.body.name);
  const byGroups = calledByRunnerGroups(index).get(name ?? "");
  if (byGroups) return byGroups;
  for (const ruleset of index.companions(repo, "github_organization_ruleset")) {
    const required = blocks(block(block(ruleset.body, "rules"), "required_workflows")?.required_workflow);
    if (required.some((w) => index.resolve(w.repository_id)?.address === repo.address)) return `${ruleset.address} requires one of its workflows`;
  }
  for (const file of index.companions(repo, "github_repository_file")) {
    const path = str(file.body.file) ?? "";
    if (/^\.github\/workflows\/[^/]+\.ya?ml$/.test(path) && /\bworkflow_call\b/.test(str(file.body.content) ?? "")) return `${file.address} commits the reusable workflow ${path}`;
  }
  return undefined;
}

export const GITHUB_APPLY_READINESS_RULES: readonly Rule[] = [
  {
    id: "HIPAA-GITHUB-RUNNER-GROUP-EXACT-WORKFLOWS",
    title: "A runner group restricted to workflows names each one exactly: GitHub matches selected_workflows exactly, so a wildcard admits no run",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["github_actions_runner_group", "github_enterprise_actions_runner_group"],
    fix: "list each workflow as OWNER/REPO/.github/workflows/FILE.yml@refs/tags/vX.Y.Z (the approved release), never @refs/tags/v*",
    equivalents: [],
    evaluate: (group) => {
      const workflows = strings(group.body.selected_workflows);
      if (workflows.length === 0) return undefined;
      const wildcard = workflows.find((w) => WILDCARD.test(w));
      if (wildcard) return fail(`selected workflow "${wildcard}" contains a wildcard, which GitHub compares literally: no job would ever be admitted`);
      return pass(`selected workflows are exact: ${workflows.join(", ")}`);
    },
  },
  {
    id: "HIPAA-GITHUB-REUSABLE-WORKFLOW-ACCESS",
    title: "A private or internal repository whose workflows other repositories run lets them call it (github_actions_repository_access_level)",
    severity: "high",
    controls: [Cfr.INTEGRITY],
    resourceTypes: ["github_repository"],
    acrossStacks: ["github_repository", "github_actions_runner_group"],
    fix: "add github_actions_repository_access_level { repository = <the repository>, access_level = \"organization\" }",
    equivalents: [],
    evaluate: (repo, index) => {
      if (bool(repo.body.archived) === true) return undefined;
      const visibility = str(repo.body.visibility) ?? (bool(repo.body.private) === true ? "private" : "public");
      if (visibility === "public") return undefined;
      const why = reusableWorkflowHolder(repo, index);
      if (!why) return undefined;
      const levels = index.companions(repo, "github_actions_repository_access_level").map((a) => str(a.body.access_level));
      if (levels.some((l) => l !== undefined && SHARED.includes(l))) return pass(`its workflows are callable across the ${levels.find((l) => SHARED.includes(l!))} (${why})`);
      return fail(
        `${visibility} repository holds workflows other repositories run (${why}), but ${levels.length === 0 ? "no github_actions_repository_access_level shares them" : `its access level is ${levels.join(", ")}`}: every call from another repository fails`,
      );
    },
  },
];
