import { TerraformLocal, TerraformStack } from "cdktf";
import { Environment } from "../src/model";

/**
 * Declares, as a Terraform local, which environment the stack is and whether it handles PHI, so
 * the HIPAA checker can judge stack-level rules (remote state) on any stack that declares it,
 * hand-written ones included. A local changes no resource.
 */
export function declareEnvironment(stack: TerraformStack, env: Environment): void {
  new TerraformLocal(stack, "hipaa_environment", { name: env.name, tier: env.tier, handles_phi: env.handlesPhi });
}

