import { Construct } from "constructs";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { Token } from "cdktf";
import { HipaaConfigError } from "../../src/errors";
import { Environment } from "../../src/model";
import { Cfr, judgeTrustStatement } from "../../src/compliance";
import { PolicyDocument, PolicyStatement, renderStatement } from "./iam-policy";
import { IAwsPrincipal } from "./principal";

export interface ScopedRoleProps {
  /** The one environment this role acts in. Grants on another environment's resources are refused. */
  readonly environment: Environment;
  /** A short alphanumeric name for statement ids and the default role name, e.g. "GithubDeploy". */
  readonly grantName: string;
  /** What the role is for, in a sentence an auditor reads in the IAM console. */
  readonly description: string;
  /** The trust statement (sts:AssumeRole* with its conditions), built by one of the trust helpers. */
  readonly trust: PolicyStatement;
  /**
   * The role name.
   * @default `hipaa-ENV-<grantName in kebab case>`
   */
  readonly roleName?: string;
  /**
   * Maximum session length in seconds (900-43200).
   * @default 3600: one hour, so a leaked session dies quickly (45 CFR 164.308(a)(3))
   */
  readonly maxSessionDurationSeconds?: number;
  /**
   * A permissions boundary policy ARN capping whatever the role is later granted.
   * @default - none
   */
  readonly permissionsBoundaryArn?: string;
}

/**
 * An IAM role with exactly one trust and only intent-level permissions: grants are made by the
 * resources (`bucket.grantWrite(role)`, `key.grantSign(role)`), never as raw actions. Every grant
 * lands in one inline policy rendered at synthesis.
 */
export class ScopedRole extends Construct implements IAwsPrincipal {
  public readonly role: IamRole;
  public readonly roleArn: string;
  public readonly roleName: string;
  public readonly principalArn: string;
  public readonly grantName: string;
  public readonly environment: Environment;
  public readonly trust: PolicyStatement;

  private readonly permissions: PolicyDocument;
  private permissionsPolicy?: IamRolePolicy;

  constructor(scope: Construct, id: string, props: ScopedRoleProps) {
    super(scope, id);
    const session = props.maxSessionDurationSeconds ?? 3600;
    if (!Number.isInteger(session) || session < 900 || session > 43200) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: `maxSessionDurationSeconds ${session} is outside 900-43200`,
        fix: "leave it unset (3600 seconds) or choose a whole number of seconds between 900 and 43200",
      });
    }
    const name = props.roleName ?? `hipaa-${props.environment.name}-${kebab(props.grantName)}`;
    if (!Token.isUnresolved(name) && !/^[\w+=,.@-]{1,64}$/.test(name)) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: `role name ${JSON.stringify(name)} is not a valid IAM role name`,
        fix: "use at most 64 letters, digits or +=,.@_-",
      });
    }
    // The same judgement the gate's trust rules make, here at construction: a hand-written trust
    // such as repo:ORG/* is refused whichever construct it is handed to.
    const judgement = judgeTrustStatement(renderStatement(props.trust), props.environment.isProduction);
    if (judgement?.verdict === "fail") {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: `the trust is refused: ${judgement.message}`,
        cfr: Cfr.AUTHENTICATION,
        fix: "build the trust with githubActionsTrust / gitlabCiTrust / irsaTrust / principalsTrust from a typed subject, which pin one repository or project, one environment and one ref",
      });
    }
    this.environment = props.environment;
    this.grantName = props.grantName;
    this.trust = props.trust;
    this.permissions = new PolicyDocument(`${this.node.path}/Permissions`);
    const trustPolicy = new PolicyDocument(`${this.node.path}/Trust`, [props.trust]);
    this.role = new IamRole(this, "Role", {
      name,
      description: props.description,
      assumeRolePolicy: trustPolicy.render(),
      maxSessionDuration: session,
      permissionsBoundary: props.permissionsBoundaryArn,
      tags: { Environment: props.environment.name, Purpose: props.grantName },
    });
    // One token per attribute, shared: every `role.arn` read makes cdktf capture a stack trace.
    this.roleArn = this.role.arn;
    this.roleName = this.role.name;
    this.principalArn = this.roleArn;
  }

  /** Called by resources' grant methods; adds the statement to the role's inline policy. */
  public addToPrincipalPolicy(statement: PolicyStatement): void {
    this.permissions.addStatement(statement);
    if (!this.permissionsPolicy) {
      this.permissionsPolicy = new IamRolePolicy(this, "Permissions", {
        name: "hipaa-intent-grants",
        role: this.role.id,
        policy: this.permissions.toJson(),
      });
    }
  }

  /** The statements granted so far. */
  public get grantedStatements(): readonly PolicyStatement[] {
    return this.permissions.statementList;
  }
}

function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
}
