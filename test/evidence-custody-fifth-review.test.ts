/**
 * Issue 14, fifth review of the AWS archive (synthesized reference app and a us-west-2 variant):
 * each finding as an assertion on the parsed synthesized JSON. Each of these failed before its fix.
 */
import { Testing } from "cdktf";
import { buildReferenceApp, REFERENCE_ACCOUNTS, REFERENCE_ARCHIVE, REFERENCE_ENVIRONMENTS } from "../examples/reference/main";
import { referenceAppIn } from "./support/reference-app";
import { resourcesOf, statements, SynthResult, synthAll } from "./support/synth";

const ARCHIVE = REFERENCE_ARCHIVE.accountId;
const ENVS = REFERENCE_ENVIRONMENTS.map((e) => e.name);

const rulesOf = (out: SynthResult) => Object.entries(resourcesOf(out, "aws_cloudwatch_event_rule"));
const targetOf = (out: SynthResult, ruleId: string) => Object.values(resourcesOf(out, "aws_cloudwatch_event_target")).filter((t) => t.rule === `\${aws_cloudwatch_event_rule.${ruleId}.name}`);

describe("finding 1: with a home region other than us-east-1, global-region events reach the archive in one bus-to-bus hop", () => {
  const west = referenceAppIn("us-west-2");
  const westArchive = west.get("clinical-archive")!;
  const WEST_ARCHIVE_BUS = `arn:aws:events:us-west-2:${ARCHIVE}:event-bus/default`;

  test.each(ENVS)("%s: every us-east-1 copy also forwards straight to the archive's (us-west-2) bus through the forwarder role", (env) => {
    const out = west.get(`clinical-${env}`)!;
    const [roleId, role] = Object.entries(resourcesOf(out, "aws_iam_role")).find(([, r]) => r.name === `hipaa-${env}-security-event-forwarder`)!;
    const trusted: string[] = [statements(role.assume_role_policy)[0].Condition!.ArnEquals["aws:SourceArn"]].flat();
    const global = rulesOf(out).filter(([, r]) => r.region === "us-east-1");
    const sources = (ids: [string, Record<string, any>][]) => ids.map(([, r]) => JSON.parse(r.event_pattern).source[0]).sort();
    const toArchive = global.filter(([id]) => targetOf(out, id).some((t) => t.arn === WEST_ARCHIVE_BUS));
    // Role assumptions (STS), console role switches (signin) and guarded-role changes (IAM).
    expect(sources(toArchive)).toEqual(["aws.iam", "aws.signin", "aws.sts"]);
    for (const [id, rule] of toArchive) {
      const [target] = targetOf(out, id);
      expect(target).toMatchObject({ region: "us-east-1", arn: WEST_ARCHIVE_BUS, role_arn: `\${aws_iam_role.${roleId}.arn}` });
      expect(trusted).toContain(`\${aws_cloudwatch_event_rule.${id}.arn}`);
      // Same pattern and state as the local copy that feeds the environment's own topic.
      const local = global.find(([other, r]) => other !== id && r.event_pattern === rule.event_pattern)!;
      expect(local).toBeDefined();
      expect(local[1].state).toBe(rule.state);
      expect(targetOf(out, local[0])[0].arn).toMatch(new RegExp(`:events:us-west-2:${REFERENCE_ACCOUNTS[env]}:event-bus/default$`));
    }
    // The forwarder role may put events on that bus (its ARN names the archive's home region).
    const [, policy] = Object.entries(resourcesOf(out, "aws_iam_role_policy")).find(([, p]) => p.role === `\${aws_iam_role.${roleId}.id}`)!;
    expect(statements(policy.policy)[0]).toMatchObject({ Action: "events:PutEvents", Resource: WEST_ARCHIVE_BUS });
  });

  test("the archive's bus admits them (the forwarder role, any source region) and EnvironmentSecurityEvents matches them", () => {
    const [, busPolicy] = Object.entries(resourcesOf(westArchive, "aws_cloudwatch_event_bus_policy"))[0];
    for (const s of statements(busPolicy.policy)) {
      expect(s.Resource).toMatch(/:event-bus\/default$/);
      expect(JSON.stringify(s.Condition)).not.toMatch(/SourceRegion|us-east-1/);
    }
    const [, env] = rulesOf(westArchive).find(([id]) => id.startsWith("SecurityAlerts_EnvironmentSecurityEvents"))!;
    const pattern = JSON.parse(env.event_pattern);
    expect(pattern.region).toBeUndefined();
    expect(pattern.source).toEqual(expect.arrayContaining(["aws.sts", "aws.signin", "aws.iam"]));
    expect(env.region).toBeUndefined();
  });

  test("the archive's own us-east-1 copies go to its own home bus only (a single hop) and nowhere else", () => {
    const global = rulesOf(westArchive).filter(([, r]) => r.region === "us-east-1");
    expect(global.length).toBeGreaterThanOrEqual(3);
    for (const [id] of global) expect(targetOf(westArchive, id).map((t) => t.arn)).toEqual([WEST_ARCHIVE_BUS]);
  });

  test("in us-east-1 homes nothing is duplicated: no GlobalForward copies", () => {
    for (const out of synthAll(buildReferenceApp(Testing.app())).values()) {
      expect(rulesOf(out).filter(([id, r]) => id.includes("GlobalForward") || r.region !== undefined)).toEqual([]);
    }
  });
});

describe("finding 2: tampering with the archive's heartbeat alarms, or with a managed policy's default version, alerts", () => {
  const ref = synthAll(buildReferenceApp(Testing.app()));
  const archive = ref.get("clinical-archive")!;
  const [topicId] = Object.keys(resourcesOf(archive, "aws_sns_topic"));

  test("deleting, rewriting, disabling the actions of or setting the state of an alarm alerts (CloudWatch API calls via CloudTrail)", () => {
    const found = rulesOf(archive).filter(([, r]) => r.event_pattern && JSON.parse(r.event_pattern).detail?.eventSource?.[0] === "monitoring.amazonaws.com");
    expect(found).toHaveLength(1);
    const [id, rule] = found[0];
    const pattern = JSON.parse(rule.event_pattern);
    expect(pattern).toEqual({
      account: [ARCHIVE],
      source: expect.arrayContaining(["aws.monitoring"]),
      "detail-type": ["AWS API Call via CloudTrail"],
      detail: { eventSource: ["monitoring.amazonaws.com"], eventName: expect.arrayContaining(["DeleteAlarms", "DisableAlarmActions", "PutMetricAlarm", "SetAlarmState"]) },
    });
    expect(targetOf(archive, id).map((t) => t.arn)).toEqual([`\${aws_sns_topic.${topicId}.arn}`]);
    // The topic policy admits the rule (it publishes).
    const [, topicPolicy] = Object.entries(resourcesOf(archive, "aws_sns_topic_policy"))[0];
    const publish = statements(topicPolicy.policy).find((s) => s.Sid === "AlertRulesPublish")!;
    expect([publish.Condition!.ArnEquals["aws:SourceArn"]].flat()).toContain(`\${aws_cloudwatch_event_rule.${id}.arn}`);
  });

  test("a new default version of a customer-managed policy in the archive alerts (a policy on the break-glass role cannot be named by role)", () => {
    const found = rulesOf(archive).filter(([, r]) => r.event_pattern && (JSON.parse(r.event_pattern).detail?.eventName ?? []).includes("SetDefaultPolicyVersion"));
    expect(found).toHaveLength(1);
    expect(JSON.parse(found[0][1].event_pattern)).toEqual({
      account: [ARCHIVE],
      source: ["aws.iam"],
      "detail-type": ["AWS API Call via CloudTrail"],
      detail: { eventSource: ["iam.amazonaws.com"], eventName: ["CreatePolicyVersion", "SetDefaultPolicyVersion"] },
    });
  });

  test("with a home region other than us-east-1, the policy-version rule is mirrored in us-east-1, where IAM delivers", () => {
    const westArchive = referenceAppIn("us-west-2").get("clinical-archive")!;
    const global = rulesOf(westArchive).filter(([, r]) => r.region === "us-east-1" && JSON.parse(r.event_pattern).detail.eventName.includes("CreatePolicyVersion"));
    expect(global).toHaveLength(1);
  });
});
