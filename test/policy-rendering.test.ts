import { Fn, Testing, TerraformStack } from "cdktf";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { PolicyDocument } from "../constructs/aws/iam-policy";

/**
 * PolicyDocument.toJson() resolves long documents value by value (cdktf's scan of one long
 * string is quadratic in its tokens); the text must be exactly what resolving the serialized
 * document writes, which is what the document rendered as a plain string (`render()`) gives.
 */
function bothWays(statementCount: number, principal: (stack: TerraformStack, i: number) => string): { token: string; text: string } {
  const stack = new TerraformStack(Testing.app(), "s");
  const doc = new PolicyDocument("s/Doc");
  for (let i = 0; i < statementCount; i++) {
    doc.addStatement({ sid: `Grant${i}`, effect: "Allow", principals: { AWS: [principal(stack, i)] }, actions: ["s3:PutObject"], resources: [`arn:aws:s3:::bucket/${i}/*`] });
  }
  const role = new IamRole(stack, "Role", { assumeRolePolicy: "{}" });
  new IamRolePolicy(stack, "ByToken", { role: role.id, policy: doc.toJson() });
  new IamRolePolicy(stack, "ByText", { role: role.id, policy: doc.render() });
  const policies = JSON.parse(Testing.synth(stack)).resource.aws_iam_role_policy;
  return { token: policies.ByToken.policy, text: policies.ByText.policy };
}

describe("PolicyDocument.toJson", () => {
  test("a long document of references resolves to the same text as its serialized form", () => {
    const { token, text } = bothWays(200, (stack, i) => new IamRole(stack, `Principal${i}`, { assumeRolePolicy: "{}" }).arn);
    expect(token.length).toBeGreaterThan(4096);
    expect(token).toEqual(text);
    expect(token).toContain('"AWS":"${aws_iam_role.Principal7.arn}"');
  });

  test("a value that is not verbatim inside a JSON string (quotes of a function call) takes the text route, unchanged", () => {
    const { token, text } = bothWays(200, (stack, i) => Fn.join(",", [new IamRole(stack, `Principal${i}`, { assumeRolePolicy: "{}" }).arn]));
    expect(token).toEqual(text);
  });

  test("a short document is resolved as text", () => {
    const { token, text } = bothWays(2, (stack, i) => new IamRole(stack, `Principal${i}`, { assumeRolePolicy: "{}" }).arn);
    expect(token.length).toBeLessThan(4096);
    expect(token).toEqual(text);
  });

  test("grants added after the policy is declared still reach it", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    const doc = new PolicyDocument("s/Doc");
    const role = new IamRole(stack, "Role", { assumeRolePolicy: "{}" });
    new IamRolePolicy(stack, "Policy", { role: role.id, policy: doc.toJson() });
    doc.addStatement({ sid: "Late", effect: "Allow", actions: ["s3:GetObject"], resources: ["arn:aws:s3:::b/*"] });
    const policy = JSON.parse(JSON.parse(Testing.synth(stack)).resource.aws_iam_role_policy.Policy.policy);
    expect(policy.Statement.map((s: { Sid: string }) => s.Sid)).toEqual(["Late"]);
  });
});
