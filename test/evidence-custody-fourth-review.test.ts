/**
 * Issue 14, fourth review of the AWS archive (synthesized reference app): each finding as an
 * assertion on the parsed synthesized JSON. Each of these failed before its fix.
 */
import { Testing } from "cdktf";
import { buildReferenceApp, REFERENCE_ACCOUNTS, REFERENCE_ARCHIVE, REFERENCE_ENVIRONMENTS } from "../examples/reference/main";
import { ALL_RULES, evaluate, unitFromJson } from "../src/compliance";
import { resourcesOf, Statement, statements, SynthResult, synthAll } from "./support/synth";

const ARCHIVE = REFERENCE_ARCHIVE.accountId;
const ENVS = REFERENCE_ENVIRONMENTS.map((e) => e.name);
const ARCHIVE_BUS = `arn:aws:events:us-east-1:${ARCHIVE}:event-bus/default`;
const ALL_MANAGEMENT = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS";

const stacks = synthAll(buildReferenceApp(Testing.app()));
const archive = stacks.get("clinical-archive")!;
const envStack = (env: string) => stacks.get(`clinical-${env}`)!;
const all = [{ where: "archive", out: archive }, ...ENVS.map((env) => ({ where: env, out: envStack(env) }))];
const one = (out: SynthResult, type: string, prefix: string): [string, Record<string, any>] => {
  const found = Object.entries(resourcesOf(out, type)).filter(([id]) => id.startsWith(prefix));
  expect(found).toHaveLength(1);
  return found[0];
};
const rulesWithPattern = (out: SynthResult) => Object.entries(resourcesOf(out, "aws_cloudwatch_event_rule")).filter(([, r]) => r.event_pattern).map(([id, r]) => ({ id, rule: r, pattern: JSON.parse(r.event_pattern) }));
const sid = (policy: string, s: string): Statement | undefined => statements(policy).find((x) => x.Sid === s);

describe("finding 1: EventBridge can use the alert topic's key (no aws:SourceAccount on its grant)", () => {
  test.each(all)("$where: the EventBridge grant carries no condition the KMS request does not have", ({ out }) => {
    const [, key] = one(out, "aws_kms_key", "SecurityAlerts_Key");
    const grant = sid(key.policy, "EventBridgePublishesEncrypted")!;
    expect(grant).toMatchObject({ Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Resource: "*" });
    expect(grant.Condition).toBeUndefined();
  });

  test("the archive's alarms may publish to the encrypted topic: the key and the topic policy admit CloudWatch for those alarms only", () => {
    const [, key] = one(archive, "aws_kms_key", "SecurityAlerts_Key");
    const cw = sid(key.policy, "SilenceAlarmsPublishEncrypted")!;
    expect(cw).toMatchObject({ Effect: "Allow", Principal: { Service: "cloudwatch.amazonaws.com" }, Action: ["kms:GenerateDataKey*", "kms:Decrypt"], Resource: "*" });
    expect(Object.keys(cw.Condition!.StringEquals)).toEqual(["aws:SourceAccount"]);
    expect([cw.Condition!.ArnLike["aws:SourceArn"]].flat().map((a: string) => a.split(":alarm:")[1]).sort()).toEqual(ENVS.map((e) => `hipaa-clinical-heartbeat-${e}`).sort());
    const [, topicPolicy] = one(archive, "aws_sns_topic_policy", "SecurityAlerts_TopicPolicy");
    const publish = sid(topicPolicy.policy, "SilenceAlarmsPublish")!;
    expect(publish).toMatchObject({ Effect: "Allow", Principal: { Service: "cloudwatch.amazonaws.com" }, Action: "sns:Publish" });
    const alarms = Object.keys(resourcesOf(archive, "aws_cloudwatch_metric_alarm"));
    expect([publish.Condition!.ArnEquals["aws:SourceArn"]].flat().sort()).toEqual(alarms.map((id) => `\${aws_cloudwatch_metric_alarm.${id}.arn}`).sort());
  });
});

describe("finding 2: break-glass use alerts (read-only management events, console role switching)", () => {
  test.each(all)("$where: every rule matching STS or console sign-ins matches read-only management events too", ({ out }) => {
    const readOnly = rulesWithPattern(out).filter((r) => r.pattern.source.some((s: string) => s === "aws.sts" || s === "aws.signin"));
    expect(readOnly.length).toBeGreaterThanOrEqual(2);
    for (const r of readOnly) expect([r.id, r.rule.state]).toEqual([r.id, ALL_MANAGEMENT]);
  });

  test.each(all)("$where: switching to the break-glass role in the console alerts (signin SwitchRole, the session's assumed-role ARN)", ({ where, out }) => {
    const account = where === "archive" ? ARCHIVE : REFERENCE_ACCOUNTS[where];
    const console = rulesWithPattern(out).filter((r) => r.pattern.source[0] === "aws.signin" && !r.id.includes("Forward"));
    expect(console).toHaveLength(1);
    expect(console[0].pattern).toMatchObject({
      "detail-type": ["AWS Console Sign In via CloudTrail"],
      detail: { eventSource: ["signin.amazonaws.com"], eventName: ["SwitchRole"], userIdentity: { arn: [{ prefix: `arn:aws:sts::${account}:assumed-role/evidence-custodian/` }] } },
    });
  });

  test("the archive alerts on what environments forward, read-only assumptions and console switches included", () => {
    const forwarded = rulesWithPattern(archive).find((r) => r.id.startsWith("SecurityAlerts_EnvironmentSecurityEvents"))!;
    expect(forwarded.rule.state).toBe(ALL_MANAGEMENT);
    expect(forwarded.pattern.source).toEqual(expect.arrayContaining(["aws.sts", "aws.signin", "aws.iam"]));
    expect(forwarded.pattern["detail-type"]).toEqual(["AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail"]);
  });
});

describe("finding 3: an environment that goes silent alarms in the archive", () => {
  test.each(ENVS)("%s: a 5-minute heartbeat goes to the archive's bus through the forwarder role, which only its rules may use", (env) => {
    const out = envStack(env);
    const [hbId, hb] = one(out, "aws_cloudwatch_event_rule", "SecurityAlerts_Heartbeat");
    expect(hb).toMatchObject({ name: `hipaa-${env}-archive-heartbeat`, schedule_expression: "rate(5 minutes)" });
    const target = Object.values(resourcesOf(out, "aws_cloudwatch_event_target")).find((t) => t.rule === `\${aws_cloudwatch_event_rule.${hbId}.name}`)!;
    const [roleId, role] = Object.entries(resourcesOf(out, "aws_iam_role")).find(([, r]) => r.name === `hipaa-${env}-security-event-forwarder`)!;
    expect(target).toMatchObject({ arn: ARCHIVE_BUS, role_arn: `\${aws_iam_role.${roleId}.arn}` });
    expect(statements(role.assume_role_policy)[0].Condition!.ArnEquals["aws:SourceArn"]).toContain(`\${aws_cloudwatch_event_rule.${hbId}.arn}`);
  });

  test.each(ENVS)("%s: the archive counts that heartbeat and alarms after 15 minutes without one, missing data breaching", (env) => {
    const account = REFERENCE_ACCOUNTS[env];
    const [ruleId, rule] = one(archive, "aws_cloudwatch_event_rule", `SecurityAlerts_Heartbeat-${env}_`);
    expect(JSON.parse(rule.event_pattern)).toEqual({ account: [account], source: ["aws.events"], "detail-type": ["Scheduled Event"], resources: [`arn:aws:events:us-east-1:${account}:rule/hipaa-${env}-archive-heartbeat`] });
    const [, alarm] = one(archive, "aws_cloudwatch_metric_alarm", `SecurityAlerts_HeartbeatMissing-${env}_`);
    const [topicId] = Object.keys(resourcesOf(archive, "aws_sns_topic"));
    expect(alarm).toMatchObject({
      namespace: "AWS/Events",
      metric_name: "MatchedEvents",
      dimensions: { RuleName: `\${aws_cloudwatch_event_rule.${ruleId}.name}` },
      statistic: "Sum",
      comparison_operator: "LessThanThreshold",
      threshold: 1,
      treat_missing_data: "breaching",
      alarm_actions: [`\${aws_sns_topic.${topicId}.arn}`],
    });
    expect(alarm.period * alarm.evaluation_periods).toBe(900);
  });

  test("the archive's bus admits the heartbeat: it comes through the same forwarder role the bus policy names", () => {
    const [, policy] = one(archive, "aws_cloudwatch_event_bus_policy", "SecurityAlerts_ForwardedEventsBusPolicy");
    const pinned = statements(policy.policy).map((s) => s.Condition!.ArnEquals["aws:PrincipalArn"]);
    expect(pinned.sort()).toEqual(ENVS.map((e) => `arn:aws:iam::${REFERENCE_ACCOUNTS[e]}:role/hipaa-${e}-security-event-forwarder`).sort());
  });

  test.each(ENVS)("%s: IAM changes to the forwarder or break-glass role alert locally and are forwarded to the archive", (env) => {
    const guarded = rulesWithPattern(envStack(env)).filter((r) => r.pattern.source[0] === "aws.iam");
    expect(guarded.map((r) => r.id.replace(/_[0-9A-F]{8}$/, "")).sort()).toEqual(["SecurityAlerts_ForwardGuardedRolesChanged", "SecurityAlerts_GuardedRolesChanged"]);
    for (const r of guarded) {
      expect(r.pattern.detail.requestParameters.roleName).toEqual([`hipaa-${env}-security-event-forwarder`, "evidence-custodian"]);
      expect(r.pattern.detail.eventName).toEqual(expect.arrayContaining(["UpdateAssumeRolePolicy", "PutRolePolicy", "DeleteRolePolicy", "AttachRolePolicy", "DetachRolePolicy", "PutRolePermissionsBoundary", "DeleteRole", "UpdateRole"]));
    }
  });

  test("IAM changes to the archive's break-glass role alert in the archive", () => {
    // (ManagedPoliciesChanged, the fifth review's, matches IAM policy versions, not roles.)
    const guarded = rulesWithPattern(archive).filter((r) => r.pattern.source[0] === "aws.iam" && r.pattern.detail.requestParameters);
    expect(guarded).toHaveLength(1);
    expect(guarded[0].pattern).toMatchObject({ account: [ARCHIVE], detail: { requestParameters: { roleName: ["evidence-custodian"] } } });
  });
});

describe("finding 4: the trail bucket has no S3 Bucket Key (trail creators lack kms:Decrypt)", () => {
  test("trail bucket default encryption is SSE-KMS with the trail key and bucket_key_enabled = false; evidence buckets keep theirs", () => {
    const [, sse] = one(archive, "aws_s3_bucket_server_side_encryption_configuration", "TrailBucket_Encryption");
    expect(sse.rule[0]).toMatchObject({ bucket_key_enabled: false, apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms" } });
    const [, evidence] = one(archive, "aws_s3_bucket_server_side_encryption_configuration", "Evidence-dev_");
    expect(evidence.rule[0].bucket_key_enabled).toBe(true);
  });
});

describe("finding 5: auditor roles trust the auditors' account, pinned to the exact SSO role ARN", () => {
  test.each(ENVS)("%s: Principal is the account root, ArnEquals aws:PrincipalArn the given ARN", (env) => {
    const [, role] = Object.entries(resourcesOf(archive, "aws_iam_role")).find(([, r]) => r.name === `hipaa-${env}-evidence-auditor`)!;
    const [trust, ...rest] = statements(role.assume_role_policy);
    expect(rest).toEqual([]);
    expect(trust.Principal).toEqual({ AWS: `arn:aws:iam::${REFERENCE_ACCOUNTS[env]}:root` });
    expect(trust.Condition).toEqual({ ArnEquals: { "aws:PrincipalArn": [`arn:aws:iam::${REFERENCE_ACCOUNTS[env]}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_HipaaAuditor_0123456789abcdef`] } });
  });

  const rootRule = (assume: object) =>
    evaluate([unitFromJson("main.tf.json", { resource: { aws_iam_role: { r: { name: "r", assume_role_policy: JSON.stringify(assume) } } } })], ALL_RULES).find((f) => f.rule === "HIPAA-IAM-TRUST-NO-ACCOUNT-ROOT")!.verdict;
  const trust = (principal: string, condition?: object) => ({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: principal }, Action: "sts:AssumeRole", ...(condition ? { Condition: condition } : {}) }] });

  test("the gate passes an account root pinned to exact ARNs of that account, and still fails any other account-wide trust", () => {
    expect(rootRule(trust("arn:aws:iam::111111111111:root", { ArnEquals: { "aws:PrincipalArn": ["arn:aws:iam::111111111111:role/auditor"] } }))).toBe("pass");
    expect(rootRule(trust("arn:aws:iam::111111111111:root"))).toBe("fail");
    expect(rootRule(trust("arn:aws:iam::111111111111:root", { ArnEquals: { "aws:PrincipalArn": ["arn:aws:iam::111111111111:role/*"] } }))).toBe("fail");
    expect(rootRule(trust("arn:aws:iam::111111111111:root", { ArnEquals: { "aws:PrincipalArn": ["arn:aws:iam::222222222222:role/auditor"] } }))).toBe("fail");
    expect(rootRule(trust("arn:aws:iam::111111111111:root", { ArnLike: { "aws:PrincipalArn": ["arn:aws:iam::111111111111:role/auditor"] } }))).toBe("fail");
  });
});

describe("finding 6: the evidence runner writes only <repository>/<its environment>/; archive resources carry the archive's tag", () => {
  test.each(ENVS)("%s: the archive bucket policy and the runner's own policy confine its writes to */<environment>/*", (env) => {
    const [, policy] = one(archive, "aws_s3_bucket_policy", `Evidence-${env}_Policy`);
    const runner = statements(policy.policy).filter((s) => s.Sid.startsWith("WriteEvidenceRunner"));
    expect(runner).toHaveLength(3);
    for (const s of runner) expect(s.Resource).toMatch(new RegExp(`\\.arn\\}/\\*/${env}/\\*$`));
    const [, own] = one(envStack(env), "aws_iam_role_policy", "EvidenceRunners_PodRole_Permissions");
    const writes = statements(own.policy).filter((s) => [s.Action].flat().some((a) => a === "s3:PutObject" || a === "s3:AbortMultipartUpload"));
    expect(writes).toHaveLength(3);
    for (const s of writes) expect(s.Resource).toMatch(new RegExp(`^arn:aws:s3:::hipaa-evidence-${env}-${ARCHIVE}-[0-9a-f]{8}/\\*/${env}/\\*$`));
  });

  test("the trail bucket's access-log bucket is tagged as the archive's, not an environment's", () => {
    const [, logs] = one(archive, "aws_s3_bucket", "TrailBucket_AccessLogs_Bucket");
    expect(logs.tags).toMatchObject({ HipaaArchive: "clinical" });
    expect(logs.tags.Environment).toBeUndefined();
    // Each environment's evidence access logs keep that environment's tag.
    const [, evlogs] = one(archive, "aws_s3_bucket", "EvidenceAccessLogs-dev_Bucket");
    expect(evlogs.tags.Environment).toBe("dev");
  });
});
