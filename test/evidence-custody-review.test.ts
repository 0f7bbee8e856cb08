/**
 * Issue 14, third review of the AWS archive: each finding as an assertion on the parsed
 * synthesized JSON of the reference app (archive on). Each of these failed before its fix.
 */
import { Testing } from "cdktf";
import { buildReferenceApp, REFERENCE_ACCOUNTS, REFERENCE_ARCHIVE, REFERENCE_ENVIRONMENTS, REFERENCE_REPOSITORIES } from "../examples/reference/main";
import { HipaaSubstrate, HipaaSubstrateConfig } from "../src";
import { collectControlRecords } from "../src/compliance";
import { REFERENCE_GITHUB } from "./support/substrate-config";
import { referenceAppIn } from "./support/reference-app";
import { actionsOf, refusal, resourcesOf, Statement, statements, SynthResult, synthAll } from "./support/synth";

const ARCHIVE = REFERENCE_ARCHIVE.accountId;
const BREAK_GLASS = REFERENCE_ARCHIVE.breakGlassRoleArn;
const ENVS = REFERENCE_ENVIRONMENTS.map((e) => e.name);
const breakGlassIn = (env: string) => BREAK_GLASS.replace(/:iam::\d{12}:/, `:iam::${REFERENCE_ACCOUNTS[env]}:`);
const ARCHIVE_BUS = `arn:aws:events:us-east-1:${ARCHIVE}:event-bus/default`;
const trailArn = (env: string) => `arn:aws:cloudtrail:us-east-1:${REFERENCE_ACCOUNTS[env]}:trail/hipaa-clinical-${env}-audit`;

const stacks = synthAll(buildReferenceApp(Testing.app()));
const archive = stacks.get("clinical-archive")!;
const envStack = (env: string) => stacks.get(`clinical-${env}`)!;
const dataOf = (out: SynthResult, type: string): Record<string, any> => (out.tf.data as any)?.[type] ?? {};
const principalsOf = (s: Statement): string[] => (s.Principal === "*" ? ["*"] : [s.Principal?.AWS ?? []].flat());
// Scheduled rules (the environments' heartbeats) have no pattern.
const patternsOf = (out: SynthResult) => Object.entries(resourcesOf(out, "aws_cloudwatch_event_rule")).filter(([, r]) => r.event_pattern).map(([id, r]) => ({ id, pattern: JSON.parse(r.event_pattern) }));

/** Every key under break-glass custody, with the break-glass role of its own account. */
function custodyKeys(): { where: string; key: Record<string, any>; out: SynthResult; breakGlass: string }[] {
  const keys: { where: string; key: Record<string, any>; out: SynthResult; breakGlass: string }[] = Object.entries(resourcesOf(archive, "aws_kms_key")).map(([id, key]) => ({ where: `archive/${id}`, key, out: archive, breakGlass: BREAK_GLASS }));
  for (const env of ENVS) {
    for (const [id, key] of Object.entries(resourcesOf(envStack(env), "aws_kms_key"))) {
      if (/OnlyBreakGlass/.test(key.policy)) keys.push({ where: `${env}/${id}`, key, out: envStack(env), breakGlass: breakGlassIn(env) });
    }
  }
  return keys;
}

describe("finding 1: trails name the trail key itself; its alias cannot be re-pointed unseen", () => {
  test("every trail's kms_key_id is a key ARN, never an alias (CloudTrail stores the key ARN)", () => {
    const [own] = Object.values(resourcesOf(archive, "aws_cloudtrail"));
    expect(own.kms_key_id).toMatch(/^\$\{aws_kms_key\.TrailBucket_Key_[0-9A-F]+\.arn\}$/);
    for (const env of ENVS) {
      const [trail] = Object.values(resourcesOf(envStack(env), "aws_cloudtrail"));
      expect(trail.kms_key_id).not.toContain("alias/");
      const lookups = Object.entries(dataOf(envStack(env), "aws_kms_key"));
      expect(lookups).toHaveLength(1);
      const [id, lookup] = lookups[0];
      expect(trail.kms_key_id).toBe(`\${data.aws_kms_key.${id}.arn}`);
      expect(lookup.key_id).toBe(`arn:aws:kms:us-east-1:${ARCHIVE}:alias/hipaa-trail-clinical`);
    }
  });

  test("the trail key lets each environment account resolve its alias (DescribeKey) and nothing more", () => {
    const key = Object.entries(resourcesOf(archive, "aws_kms_key")).find(([id]) => id.startsWith("TrailBucket_Key"))![1];
    const resolve = statements(key.policy).find((s) => s.Sid === "TrailAccountsResolveKeyAlias")!;
    expect(actionsOf(resolve)).toEqual(["kms:DescribeKey"]);
    expect(principalsOf(resolve).sort()).toEqual(ENVS.map((e) => expect.stringMatching(new RegExp(`:iam::${REFERENCE_ACCOUNTS[e]}:root$`))).sort());
    expect(principalsOf(resolve)).toHaveLength(ENVS.length);
  });

  test("every custody key denies UpdateAlias and DeleteAlias to all but its account's break-glass", () => {
    const keys = custodyKeys();
    // Archive: an evidence key per environment, the trail key, the alert key; each environment: signing and alert keys.
    expect(keys.length).toBe(ENVS.length * 3 + 2);
    for (const { where, key, breakGlass } of keys) {
      const deny = statements(key.policy).find((s) => s.Effect === "Deny" && s.Condition?.ArnNotEquals && actionsOf(s).includes("kms:ScheduleKeyDeletion"));
      expect({ where, actions: deny && actionsOf(deny), arn: deny?.Condition?.ArnNotEquals?.["aws:PrincipalArn"] }).toEqual({
        where,
        actions: expect.arrayContaining(["kms:UpdateAlias", "kms:DeleteAlias"]),
        arn: breakGlass,
      });
    }
  });

  test("alias creation, re-pointing and deletion alert in the archive and in every environment account", () => {
    for (const out of [archive, ...ENVS.map(envStack)]) {
      const kms = patternsOf(out).filter((p) => p.pattern.source?.includes("aws.kms") && p.pattern.detail);
      expect(kms.flatMap((p) => p.pattern.detail.eventName)).toEqual(expect.arrayContaining(["CreateAlias", "UpdateAlias", "DeleteAlias"]));
    }
  });
});

describe("finding 2: every key and bucket of the archive and of the environments' custody paths keeps prevent_destroy", () => {
  test("the alert topics' keys, and every other key and bucket of the archive", () => {
    for (const type of ["aws_kms_key", "aws_s3_bucket"]) {
      for (const [id, r] of Object.entries(resourcesOf(archive, type))) expect({ id, lifecycle: r.lifecycle }).toEqual({ id, lifecycle: { prevent_destroy: true } });
    }
    for (const { where, key } of custodyKeys()) expect({ where, lifecycle: key.lifecycle }).toEqual({ where, lifecycle: { prevent_destroy: true } });
    for (const env of ENVS) {
      const alertKey = Object.entries(resourcesOf(envStack(env), "aws_kms_key")).find(([id]) => id.startsWith("SecurityAlerts_Key"));
      expect(alertKey![1].lifecycle).toEqual({ prevent_destroy: true });
    }
  });
});

describe("finding 3: break-glass is pinned by the role's unique id, not only its name", () => {
  /** The data source the stack looks its own account's break-glass role up with. */
  function breakGlassLookup(out: SynthResult, arn: string): string {
    const found = Object.entries(dataOf(out, "aws_iam_role")).filter(([, r]) => r.name === arn.split("/").pop());
    expect(found).toHaveLength(1);
    const [id, role] = found[0];
    // The role found by name must be the exact ARN (path included), or the plan stops.
    expect(role.lifecycle.postcondition).toEqual([expect.objectContaining({ condition: `\${self.arn == "${arn}"}` })]);
    return `\${data.aws_iam_role.${id}.unique_id}:*`;
  }

  test("each stack looks up its own account's break-glass role (a data source reads only the caller's account)", () => {
    breakGlassLookup(archive, BREAK_GLASS);
    for (const env of ENVS) breakGlassLookup(envStack(env), breakGlassIn(env));
  });

  test("every custody Deny on a key also applies to any caller whose aws:userid is not a session of that role", () => {
    for (const { where, key, out, breakGlass } of custodyKeys()) {
      const userid = breakGlassLookup(out, breakGlass);
      const denies = statements(key.policy).filter((s) => s.Effect === "Deny" && s.Principal === "*");
      for (const actions of [["kms:ScheduleKeyDeletion", "kms:PutKeyPolicy", "kms:UpdateAlias"], ["kms:CreateGrant"]]) {
        const byId = denies.find((s) => actions.every((a) => actionsOf(s).includes(a)) && s.Condition?.StringNotLike);
        expect({ where, actions, condition: byId?.Condition?.StringNotLike }).toEqual({ where, actions, condition: { "aws:userid": userid } });
        // The ARN pin stays: the two Denies together exempt only that role, by name and by id.
        expect(denies.some((s) => actions.every((a) => actionsOf(s).includes(a)) && s.Condition?.ArnNotEquals?.["aws:PrincipalArn"] === breakGlass)).toBe(true);
      }
      expect(key.bypass_policy_lockout_safety_check).toBe(true);
    }
  });

  test("every bucket custody Deny of the archive is pinned by unique id too", () => {
    const userid = breakGlassLookup(archive, BREAK_GLASS);
    const policies = Object.entries(resourcesOf(archive, "aws_s3_bucket_policy"));
    let pinned = 0;
    for (const [id, p] of policies) {
      for (const s of statements(p.policy).filter((x) => x.Effect === "Deny" && x.Condition?.ArnNotEquals)) {
        const twin = statements(p.policy).find((x) => x.Sid === `${s.Sid}ByRoleId`);
        expect({ id, sid: s.Sid, twin: twin && { actions: actionsOf(twin), condition: twin.Condition } }).toEqual({ id, sid: s.Sid, twin: { actions: actionsOf(s), condition: { StringNotLike: { "aws:userid": userid } } } });
        pinned++;
      }
    }
    expect(pinned).toBeGreaterThanOrEqual(ENVS.length * 2 + 2);
  });

  test("a unique id that is not an IAM role id is refused", () => {
    const { TerraformStack: Stack } = jest.requireActual("cdktf");
    const { AwsProvider } = jest.requireActual("@cdktf/provider-aws/lib/provider");
    const { SigningKey } = jest.requireActual("../constructs/aws");
    const { production } = jest.requireActual("./support/synth");
    const stack = new Stack(Testing.app(), "s");
    new AwsProvider(stack, "aws", { region: "us-east-1" });
    expect(refusal(() => new SigningKey(stack, "K", { environment: production, custody: { breakGlassRoleArn: BREAK_GLASS, breakGlassRoleUniqueId: "AIDAUSERNOTAROLE1234" } }))).toContain("is not an IAM role's unique id");
  });
});

describe("finding 4: stopping an environment's own alerting does not silence the archive", () => {
  test.each(ENVS)("%s: every security event it alerts on is also forwarded to the archive's bus, trail stops included", (env) => {
    const out = envStack(env);
    const targets = Object.values(resourcesOf(out, "aws_cloudwatch_event_target")).filter((t) => t.arn === ARCHIVE_BUS);
    expect(targets.length).toBeGreaterThanOrEqual(5);
    const roles = Object.entries(resourcesOf(out, "aws_iam_role")).filter(([, r]) => r.name === `hipaa-${env}-security-event-forwarder`);
    expect(roles).toHaveLength(1);
    const [roleId, role] = roles[0];
    for (const t of targets) expect(t.role_arn).toBe(`\${aws_iam_role.${roleId}.arn}`);
    // (The heartbeat's target is one of them: a scheduled rule, no pattern.)
    const forwarded = targets.map((t) => patternsOf(out).find((p) => t.rule === `\${aws_cloudwatch_event_rule.${p.id}.name}`)?.pattern).filter((p) => p !== undefined);
    const names = forwarded.flatMap((p) => p.detail?.eventName ?? []);
    for (const e of ["StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors", "PutKeyPolicy", "ScheduleKeyDeletion", "UpdateAlias", "PutBucketPolicy", "DeleteRule", "DisableRule", "RemoveTargets", "DeleteTopic"]) expect(names).toContain(e);
    // Break-glass use in the environment account reaches the archive too.
    expect(forwarded).toContainEqual(expect.objectContaining({ detail: expect.objectContaining({ requestParameters: { roleArn: [breakGlassIn(env)] } }) }));
    // Only EventBridge, for exactly these rules, may use the role; it may only put events on the archive's bus.
    const [trust] = statements(role.assume_role_policy);
    expect(trust.Principal).toEqual({ Service: "events.amazonaws.com" });
    expect([trust.Condition!.ArnEquals["aws:SourceArn"]].flat().sort()).toEqual(targets.map((t) => t.rule.replace(/\.name\}$/, ".arn}")).sort());
    const policies = Object.values(resourcesOf(out, "aws_iam_role_policy")).filter((p) => p.role === `\${aws_iam_role.${roleId}.id}`);
    expect(policies.flatMap((p) => statements(p.policy))).toEqual([expect.objectContaining({ Effect: "Allow", Action: "events:PutEvents", Resource: ARCHIVE_BUS })]);
  });

  test("the archive's bus admits exactly the environment accounts, each through its forwarder role, and alerts on what they forward", () => {
    const policies = Object.values(resourcesOf(archive, "aws_cloudwatch_event_bus_policy"));
    expect(policies).toHaveLength(1);
    expect(policies[0].event_bus_name).toBe("default");
    const admitted = statements(policies[0].policy);
    expect(admitted.map((s) => ({ principal: s.Principal, action: s.Action, resource: s.Resource, condition: s.Condition }))).toEqual(
      ENVS.map((env) => ({
        principal: { AWS: expect.stringMatching(new RegExp(`:iam::${REFERENCE_ACCOUNTS[env]}:root$`)) },
        action: "events:PutEvents",
        resource: expect.stringMatching(/:event-bus\/default$/),
        condition: { ArnEquals: { "aws:PrincipalArn": `arn:aws:iam::${REFERENCE_ACCOUNTS[env]}:role/hipaa-${env}-security-event-forwarder` } },
      })),
    );
    const forwarded = patternsOf(archive).filter((p) => JSON.stringify(p.pattern.account) === JSON.stringify(ENVS.map((e) => REFERENCE_ACCOUNTS[e])));
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0].pattern.source).toEqual(expect.arrayContaining(["aws.cloudtrail", "aws.kms", "aws.s3", "aws.events", "aws.sts"]));
    const [topicId] = Object.keys(resourcesOf(archive, "aws_sns_topic"));
    const target = Object.values(resourcesOf(archive, "aws_cloudwatch_event_target")).find((t) => t.rule === `\${aws_cloudwatch_event_rule.${forwarded[0].id}.name}`)!;
    expect(target.arn).toBe(`\${aws_sns_topic.${topicId}.arn}`);
    // The archive's own rules see the archive's own events only, so a forwarded event alerts once.
    // (Heartbeat rules match one environment's scheduled events, which alert only by their absence.)
    for (const p of patternsOf(archive).filter((x) => x.id !== forwarded[0].id && !x.id.startsWith("SecurityAlerts_Heartbeat-"))) expect(p.pattern.account).toEqual([ARCHIVE]);
  });

  test("the security team is subscribed to the archive topic in code", () => {
    const subs = Object.values(resourcesOf(archive, "aws_sns_topic_subscription"));
    expect(subs).toEqual([expect.objectContaining({ protocol: "https", endpoint: "https://hooks.example.com/hipaa/security-alerts" })]);
    const [topicId] = Object.keys(resourcesOf(archive, "aws_sns_topic"));
    expect(subs[0].topic_arn).toBe(`\${aws_sns_topic.${topicId}.arn}`);
  });

  const config = (alertSubscribers: unknown): HipaaSubstrateConfig => {
    return { ...REFERENCE_GITHUB, environments: REFERENCE_ENVIRONMENTS, repositories: REFERENCE_REPOSITORIES, aws: { region: "us-east-1", accounts: { ...REFERENCE_ACCOUNTS }, archive: { accountId: ARCHIVE, breakGlassRoleArn: BREAK_GLASS, alertSubscribers } as any } };
  };

  test.each([
    ["missing", undefined, "no alert subscriber"],
    ["empty", [], "no alert subscriber"],
    ["plain http", ["http://hooks.example.com/x"], "is not an https:// URL or an email address"],
    ["not an address", ["security team"], "is not an https:// URL or an email address"],
  ])("the archive refuses alert subscribers: %s", (_, subscribers, message) => {
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "clinical", config(subscribers)))).toContain(message);
  });

  test("an email subscriber is subscribed by email (pending until the mailbox confirms)", () => {
    const app = Testing.app();
    new HipaaSubstrate(app, "clinical", config(["security@example.com"]));
    const out = synthAll(app).get("clinical-archive")!;
    expect(Object.values(resourcesOf(out, "aws_sns_topic_subscription"))).toEqual([expect.objectContaining({ protocol: "email", endpoint: "security@example.com" })]);
  });
});

describe("finding 5: an environment's auditors read only their own account's trail logs", () => {
  const trailPolicy = () => statements(Object.entries(resourcesOf(archive, "aws_s3_bucket_policy")).find(([id]) => id.startsWith("TrailBucket_Policy"))![1].policy);
  const trailKey = () => statements(Object.entries(resourcesOf(archive, "aws_kms_key")).find(([id]) => id.startsWith("TrailBucket_Key"))![1].policy);
  const auditorOf = (env: string) => {
    const [id] = Object.entries(resourcesOf(archive, "aws_iam_role")).find(([, r]) => r.name === `hipaa-${env}-evidence-auditor`)!;
    return `\${aws_iam_role.${id}.arn}`;
  };

  test.each(ENVS)("%s: its auditor role reads and lists AWSLogs/<its account>/ only", (env) => {
    const account = REFERENCE_ACCOUNTS[env];
    const mine = trailPolicy().filter((s) => s.Effect === "Allow" && principalsOf(s).includes(auditorOf(env)));
    expect(mine.length).toBeGreaterThan(0);
    for (const s of mine) {
      for (const r of [s.Resource].flat()) {
        const ok = r!.endsWith(`/AWSLogs/${account}/*`) || (!r!.endsWith("/*") && (actionsOf(s).every((a) => a === "s3:GetBucketLocation") || s.Condition?.StringLike?.["s3:prefix"]?.toString() === `AWSLogs/${account}/*`));
        expect({ sid: s.Sid, r, ok }).toEqual({ sid: s.Sid, r, ok: true });
      }
      // Never granted together with another environment's auditors.
      for (const other of ENVS.filter((e) => e !== env)) expect(principalsOf(s)).not.toContain(auditorOf(other));
    }
  });

  test.each(ENVS)("%s: its auditor decrypts only data keys whose CloudTrail context is its own account's trail", (env) => {
    const mine = trailKey().filter((s) => s.Effect === "Allow" && principalsOf(s).includes(auditorOf(env)));
    expect(mine).toHaveLength(1);
    expect(actionsOf(mine[0])).toEqual(["kms:Decrypt"]);
    expect(Object.keys(mine[0].Condition!)).toEqual(["StringEquals"]);
    expect([mine[0].Condition!.StringEquals["kms:EncryptionContext:aws:cloudtrail:arn"]].flat()).toEqual([trailArn(env)]);
  });
});

describe("the control map answers 'can engineers alter the audit log?' with names", () => {
  test("archive account, break-glass role, every trail, the alert topic and its subscribers (host only: a webhook path may carry a secret)", () => {
    const app = buildReferenceApp(Testing.app());
    const { implementations } = collectControlRecords(app.node.findChild("clinical-archive"));
    const how = implementations.filter((i) => i.section === "164.312(b)").map((i) => i.how).find((h) => h.startsWith("Can engineers alter the audit log?"))!;
    expect(how).toContain(`archive account ${ARCHIVE}`);
    expect(how).toContain(BREAK_GLASS);
    expect(how).toContain("unique id");
    for (const env of ENVS) expect(how).toContain(`hipaa-clinical-${env}-audit (account ${REFERENCE_ACCOUNTS[env]})`);
    expect(how).toContain("hipaa-clinical-archive-audit (archive)");
    expect(how).toContain("hipaa-clinical-archive-alerts");
    expect(how).toContain("https://hooks.example.com/... is subscribed in code");
    expect(how).not.toContain("/hipaa/security-alerts");
  });
});

describe("finding 6: EventBridge rules are regional; global services' events reach them", () => {

  test("in us-east-1 (where global events land) nothing extra is built", () => {
    for (const out of stacks.values()) {
      for (const r of [...Object.values(resourcesOf(out, "aws_cloudwatch_event_rule")), ...Object.values(resourcesOf(out, "aws_cloudwatch_event_target"))]) expect(r.region).toBeUndefined();
    }
  });

  test("elsewhere, break-glass assumptions delivered in us-east-1 are sent to the home region's bus, where they alert", () => {
    const out = referenceAppIn("us-west-2");
    const cases = [
      { stack: out.get("clinical-archive")!, account: ARCHIVE, breakGlass: BREAK_GLASS },
      ...ENVS.map((env) => ({ stack: out.get(`clinical-${env}`)!, account: REFERENCE_ACCOUNTS[env], breakGlass: breakGlassIn(env) })),
    ];
    for (const { stack, account, breakGlass } of cases) {
      // Role assumptions through STS, console role switches and IAM changes to guarded roles.
      // (Environments' GlobalForward* copies, straight to the archive, are the fifth review's.)
      // (The archive's mirrored ManagedPoliciesChanged is the fifth review's too.)
      const global = Object.entries(resourcesOf(stack, "aws_cloudwatch_event_rule")).filter(([id, r]) => r.region === "us-east-1" && !id.startsWith("SecurityAlerts_GlobalForward") && !id.startsWith("SecurityAlerts_GlobalManagedPoliciesChanged"));
      expect(global.map(([, r]) => JSON.parse(r.event_pattern).source[0]).sort()).toEqual(["aws.iam", "aws.signin", "aws.sts"]);
      const [id, rule] = global.find(([, r]) => JSON.parse(r.event_pattern).source[0] === "aws.sts")!;
      expect(JSON.parse(rule.event_pattern).detail.requestParameters).toEqual({ roleArn: [breakGlass] });
      const target = Object.values(resourcesOf(stack, "aws_cloudwatch_event_target")).find((t) => t.rule === `\${aws_cloudwatch_event_rule.${id}.name}`)!;
      expect(target.region).toBe("us-east-1");
      expect(target.arn).toMatch(new RegExp(`:events:us-west-2:${account}:event-bus/default$`));
      expect(target.role_arn).toMatch(/^\$\{aws_iam_role\..+\.arn\}$/);
      // The home-region rule it feeds exists (no region: the provider's, us-west-2).
      const home = Object.values(resourcesOf(stack, "aws_cloudwatch_event_rule")).filter((r) => r.region === undefined && r.event_pattern && JSON.parse(r.event_pattern).detail?.requestParameters?.roleArn?.[0] === breakGlass);
      expect(home.length).toBeGreaterThanOrEqual(1);
    }
  });
});
