import { Token } from "cdktf";
import { HipaaConfigError } from "../../src/errors";
import { Environment } from "../../src/model";

/** An IAM member a GCP grant names (`serviceAccount:...`, `group:...`, `principalSet://...`). */
export interface IGcpPrincipal {
  /** The IAM member string. */
  readonly member: string;
  /** A short stable alphanumeric name, used in construct ids of the bindings. */
  readonly grantName: string;
  /** The environment the principal acts in, when scoped to one. */
  readonly environment?: Environment;
}

const MEMBER = /^(serviceAccount|group|user|domain):[^\s*?]+$|^principal(Set)?:\/\/iam\.googleapis\.com\/[^\s*?]+$/;

export class GcpPrincipal {
  /** A principal by IAM member string; `allUsers`, `allAuthenticatedUsers` and wildcards are refused. */
  public static fromMember(member: string, grantName: string, environment?: Environment): IGcpPrincipal {
    const where = `GcpPrincipal "${grantName}"`;
    if (!/^[A-Za-z][A-Za-z0-9]{0,63}$/.test(grantName)) {
      throw new HipaaConfigError({ path: where, problem: `grant name ${JSON.stringify(grantName)} is not alphanumeric`, fix: "use a short alphanumeric name such as EvidenceWriter" });
    }
    if (!Token.isUnresolved(member) && !MEMBER.test(member)) {
      throw new HipaaConfigError({
        path: where,
        problem: `${JSON.stringify(member)} is not one IAM member (allUsers, allAuthenticatedUsers and wildcards are refused)`,
        cfr: "164.312(a)(1)",
        fix: "pass e.g. serviceAccount:ci-evidence@PROJECT.iam.gserviceaccount.com or group:auditors@example.com",
      });
    }
    return { member, grantName, environment };
  }
}

