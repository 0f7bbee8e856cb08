import { Construct } from "constructs";
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { Token } from "cdktf";
import { HipaaConfigError } from "../../src/errors";
import { GithubOidcSubject } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";

/** An IAM OIDC identity provider a CI system's tokens are exchanged through. */
export interface IOidcProvider {
  readonly providerArn: string;
  /** The issuer without `https://`: the prefix of the trust-policy condition keys. */
  readonly issuerHost: string;
  /** The audience tokens must carry (`aud`). */
  readonly audience: string;
}

export interface CiOidcProviderProps {
  /**
   * The issuer URL.
   * @default GitHub Actions' issuer, https://token.actions.githubusercontent.com
   */
  readonly issuerUrl?: string;
  /**
   * The audience CI requests tokens for.
   * @default "sts.amazonaws.com" (what aws-actions/configure-aws-credentials requests)
   */
  readonly audience?: string;
  /**
   * An existing provider's ARN (IAM allows one provider per URL and account): nothing is
   * created, the trust refers to it.
   * @default - a provider is created
   */
  readonly existingProviderArn?: string;
}

/**
 * The account's IAM OIDC provider for GitHub Actions (default) or GitLab CI (`issuerUrl`
 * https://gitlab.com or a self-managed URL). No thumbprint is set: for these issuers IAM
 * validates the certificate against its own trusted CAs, and the hashicorp/aws 6.x provider
 * makes `thumbprint_list` optional.
 */
export class CiOidcProvider extends Construct implements IOidcProvider {
  /** GitHub Actions' provider, created. */
  public static githubActions(scope: Construct, id: string, props: Omit<CiOidcProviderProps, "issuerUrl"> = {}): CiOidcProvider {
    return new CiOidcProvider(scope, id, { ...props, issuerUrl: GithubOidcSubject.ISSUER });
  }

  /** GitLab's provider (gitlab.com unless a self-managed URL is given). */
  public static gitlab(scope: Construct, id: string, props: CiOidcProviderProps & { readonly audience: string }): CiOidcProvider {
    return new CiOidcProvider(scope, id, { ...props, issuerUrl: props.issuerUrl ?? "https://gitlab.com" });
  }

  public readonly providerArn: string;
  public readonly issuerHost: string;
  public readonly audience: string;
  public readonly provider?: IamOpenidConnectProvider;

  constructor(scope: Construct, id: string, props: CiOidcProviderProps = {}) {
    super(scope, id);
    const url = props.issuerUrl ?? GithubOidcSubject.ISSUER;
    if (!/^https:\/\/[a-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._~\/-]*)?$/.test(url) || url.endsWith("/")) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: `issuer URL ${JSON.stringify(url)} is not an https URL without a trailing slash`,
        fix: "use e.g. https://token.actions.githubusercontent.com or https://gitlab.example.com",
      });
    }
    this.audience = props.audience ?? "sts.amazonaws.com";
    if (/[*?\s]/.test(this.audience) || this.audience.length === 0) {
      throw new HipaaConfigError({ path: this.node.path, problem: `audience ${JSON.stringify(this.audience)} is empty or has a wildcard`, cfr: Cfr.AUTHENTICATION, fix: "name the one audience CI requests" });
    }
    this.issuerHost = url.replace(/^https:\/\//, "");
    if (props.existingProviderArn !== undefined) {
      const arn = props.existingProviderArn;
      if (!Token.isUnresolved(arn) && !new RegExp(`^arn:aws[a-z-]*:iam::\\d{12}:oidc-provider/${escape(this.issuerHost)}$`).test(arn)) {
        throw new HipaaConfigError({
          path: this.node.path,
          problem: `existingProviderArn ${JSON.stringify(arn)} is not the IAM OIDC provider of ${url}`,
          fix: `pass arn:aws:iam::ACCOUNT:oidc-provider/${this.issuerHost}`,
        });
      }
      this.providerArn = arn;
      return;
    }
    this.provider = new IamOpenidConnectProvider(this, "Provider", { url, clientIdList: [this.audience] });
    this.providerArn = this.provider.arn;
    recordControl(this, {
      section: Cfr.AUTHENTICATION,
      resources: [this.provider],
      how: `CI authenticates to AWS with short-lived OIDC tokens from ${url}; no long-lived keys.`,
    });
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\\/]/g, "\\$&");
}
