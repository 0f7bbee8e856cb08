import { Construct } from "constructs";
import { ActionsRepositoryOidcSubjectClaimCustomizationTemplate } from "@cdktf/provider-github/lib/actions-repository-oidc-subject-claim-customization-template";
import { HipaaConfigError } from "../../src/errors";
import { GithubOidcSubject, GithubSubjectFormat, ImmutableSubjects } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";

export interface OidcClaimTemplateProps {
  /**
   * The subjects the cloud trusts for this repository (one per environment). They must share
   * one format and claim-key list: a repository has one template.
   */
  readonly subjects: readonly GithubOidcSubject[];
}

/**
 * The repository's OIDC subject claim template, set from the same subject objects the AWS role
 * trusts and GCP WIF conditions are built from, so the `sub` GitHub emits is the `sub` the
 * clouds expect. CLASSIC and IMMUTABLE subjects use GitHub's default template (`use_default`);
 * CUSTOM ones set `include_claim_keys`.
 */
export class OidcClaimTemplate extends Construct {
  public readonly template: ActionsRepositoryOidcSubjectClaimCustomizationTemplate;
  public readonly subjects: readonly GithubOidcSubject[];

  constructor(scope: Construct, id: string, props: OidcClaimTemplateProps) {
    super(scope, id);
    const [first] = props.subjects;
    if (!first) {
      throw new HipaaConfigError({ path: this.node.path, problem: "no subject given", fix: "pass the subjects the cloud roles trust for this repository" });
    }
    const key = (s: GithubOidcSubject) => JSON.stringify([s.repository.fullName, s.format, s.immutableSubjects, s.claimTemplate]);
    const mismatch = props.subjects.find((s) => key(s) !== key(first));
    if (mismatch) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: `subjects of ${first.repository.fullName} (${first.format}, ${JSON.stringify(first.claimTemplate.includeClaimKeys)}) and ${mismatch.repository.fullName} (${mismatch.format}, ${JSON.stringify(mismatch.claimTemplate.includeClaimKeys)}) disagree`,
        cfr: Cfr.AUTHENTICATION,
        fix: "use one subject format, immutable-subject setting and claim-key list per repository: GitHub emits one sub shape per repository",
      });
    }
    this.subjects = props.subjects;
    const t = first.claimTemplate;
    this.template = new ActionsRepositoryOidcSubjectClaimCustomizationTemplate(this, "Template", {
      repository: first.repository.name,
      useDefault: t.useDefault,
      // The provider rejects include_claim_keys together with use_default = true.
      includeClaimKeys: t.useDefault ? undefined : [...t.includeClaimKeys],
    });
    recordControl(this, {
      section: Cfr.AUTHENTICATION,
      resources: [this.template],
      how: `${first.repository.fullName} emits ${first.format === GithubSubjectFormat.CUSTOM ? `sub from claims ${t.includeClaimKeys.join(", ")}` : `the ${first.format} sub`}${first.immutableSubjects === ImmutableSubjects.NOT_EMITTED ? "" : ` (immutable subjects: ${first.immutableSubjects}, set outside Terraform)`}: ${props.subjects.map((s) => s.subject).join(" | ")}`,
    });
  }
}
