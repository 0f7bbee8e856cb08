export { EvidenceBucket, RunnerCluster, RunnerPool, SigningKey } from "../../constructs/aws";
export { RunnerPurpose } from "../../src/model";
import { resourceAt, statements, SynthResult } from "./synth";

/** The statements of a runner pool's pod-role inline policy. */
export function statementsOf(out: SynthResult, pool: string) {
  return statements(resourceAt(out, "aws_iam_role_policy", `${pool}/PodRole/Permissions`).policy);
}
