import { Token } from "cdktf";
import { HipaaConfigError } from "../../src/errors";
import { Environment } from "../../src/model";
import { PolicyStatement } from "./iam-policy";

/**
 * Something a grant can be made to. Grants are written into the resource's own policy (bucket
 * policy, key policy), which is enough within one account; a principal that can also carry an
 * identity policy receives the same statements there (needed when the principal lives in
 * another account).
 */
export interface IAwsPrincipal {
  /** The principal's ARN, as it appears in a resource policy. */
  readonly principalArn: string;
  /** A short stable name for statement ids, e.g. the role's purpose ("EvidenceWriter"). */
  readonly grantName: string;
  /**
   * The environment the principal acts in, when it is scoped to one. Resources of another
   * environment refuse to grant to it, so no dev identity can hold production rights.
   */
  readonly environment?: Environment;
  /** Adds a statement to the principal's own identity policy, when the principal has one we manage. */
  addToPrincipalPolicy?(statement: PolicyStatement): void;
}

const PRINCIPAL_ARN = /^arn:aws[a-z-]*:(iam|sts)::\d{12}:(root|role\/[\w+=,.@\/-]+|user\/[\w+=,.@\/-]+|assumed-role\/[\w+=,.@\/-]+)$/;

/** Builds principals for grants. */
export class AwsPrincipal {
  /**
   * A principal by ARN (an IAM role or user, or `arn:aws:iam::ACCOUNT:root`). Wildcards are refused:
   * a grant names one identity.
   * @param grantName a short stable name used in statement ids, e.g. "Auditor"
   */
  public static fromArn(arn: string, grantName: string): IAwsPrincipal {
    const where = `AwsPrincipal "${grantName}"`;
    if (!/^[A-Za-z][A-Za-z0-9]{0,63}$/.test(grantName)) {
      throw new HipaaConfigError({
        path: where,
        problem: `grant name ${JSON.stringify(grantName)} is not alphanumeric`,
        fix: "use a short alphanumeric name such as EvidenceWriter",
      });
    }
    if (!Token.isUnresolved(arn)) {
      if (arn.includes("*") || arn.includes("?")) {
        throw new HipaaConfigError({
          path: where,
          problem: `principal ARN ${JSON.stringify(arn)} contains a wildcard`,
          cfr: "164.312(a)(1)",
          fix: "grant to one named role or user ARN",
        });
      }
      if (!PRINCIPAL_ARN.test(arn)) {
        throw new HipaaConfigError({
          path: where,
          problem: `${JSON.stringify(arn)} is not an IAM role, user or account-root ARN`,
          fix: "pass e.g. arn:aws:iam::111122223333:role/evidence-writer",
        });
      }
    }
    return { principalArn: arn, grantName };
  }
}


