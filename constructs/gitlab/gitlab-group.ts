import { HipaaConfigError } from "../../src/errors";

/**
 * A GitLab group by its immutable numeric id (what the API's approval and access rules take) and
 * its full path (what people, and the deploy gate's approver list, read).
 */
export interface GitlabGroupRef {
  /** `gitlab api groups/<path> | jq .id` */
  readonly id: number;
  /** `hipaa-health/release-approvers` */
  readonly path: string;
}

const GROUP_PATH = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/;

export function validateGroup(path: string, what: string, group: GitlabGroupRef): GitlabGroupRef {
  if (!Number.isInteger(group?.id) || group.id <= 0 || typeof group.path !== "string" || !GROUP_PATH.test(group.path)) {
    throw new HipaaConfigError({
      path,
      problem: `${what} ${JSON.stringify(group)} is not a GitLab group with a numeric id and a full path`,
      cfr: "164.308(a)(4)",
      fix: "pass { id: <numeric group id>, path: \"group/subgroup\" }; ids cannot be re-registered by someone else, paths can",
    });
  }
  return group;
}
