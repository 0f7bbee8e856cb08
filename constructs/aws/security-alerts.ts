import { Construct } from "constructs";
import { CloudwatchEventBusPolicy } from "@cdktf/provider-aws/lib/cloudwatch-event-bus-policy";
import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { Lazy, Token } from "cdktf";
import { HipaaConfigError } from "../../src/errors";
import { Cfr, recordControl } from "../../src/compliance";
import { stableSuffix } from "../../src/naming";
import { AwsAccountContext } from "./account-context";
import { PolicyDocument } from "./iam-policy";
import { KeyCustody, keyCustodyStatements, validateBreakGlassRoleArn } from "./key-custody";
import { kmsAdministrationStatement, KMS_DELETION_WINDOW_DAYS } from "./kms-policy";

export interface SecurityAlertsProps {
  /** The SNS topic's name, e.g. `hipaa-archive-security-alerts`. */
  readonly topicName: string;
  /** Custody of the topic's key. @default - none */
  readonly custody?: KeyCustody;
  /**
   * Who reads the alerts: `https://...` endpoints or email addresses, each an SNS subscription.
   * Both are pending until the endpoint confirms (SNS sends a confirmation message; an https
   * endpoint must visit the SubscribeURL, a person must click the email link, within the token's
   * validity of a few days), so check `aws sns list-subscriptions-by-topic` after the apply.
   * Plain `http://` is refused: alerts name keys, roles and buckets.
   * @default - none (forwarded alerts, or a topic someone else subscribes to)
   */
  readonly subscribers?: readonly string[];
}

/** One environment account whose security events the archive's bus admits. */
export interface ForwardedEventSource {
  /** The environment account (12 digits). */
  readonly accountId: string;
  /** The exact ARN of the role its forwarding rules deliver with (`SecurityAlerts.forwarderRoleName`). */
  readonly forwarderRoleArn: string;
}

/** An environment's heartbeat rule, whose scheduled events the archive expects every few minutes. */
export interface HeartbeatSource {
  /** Names the archive's rule and alarm (e.g. the environment). */
  readonly id: string;
  readonly accountId: string;
  /** The ARN of the environment's heartbeat rule (`SecurityAlerts.heartbeatRuleName`). */
  readonly ruleArn: string;
}

/**
 * EventBridge rule state that also matches read-only management events delivered through
 * CloudTrail (AssumeRole* among them): with the default ENABLED, such a rule never fires
 * (EventBridge User Guide, "Receiving read-only management events from AWS services").
 */
export const ALL_MANAGEMENT_EVENTS = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS";

/** How often each environment's heartbeat fires, and how long the archive waits before alarming. */
export const HEARTBEAT_MINUTES = 5;
export const HEARTBEAT_ALARM_MINUTES = 15;

/** The IAM changes that break a forwarder or the break-glass role (alerted in the global region). */
export const GUARDED_ROLE_EVENTS = ["UpdateAssumeRolePolicy", "PutRolePolicy", "DeleteRolePolicy", "AttachRolePolicy", "DetachRolePolicy", "PutRolePermissionsBoundary", "DeleteRolePermissionsBoundary", "DeleteRole", "UpdateRole"] as const;

/** `arn:P:sts::ACCOUNT:assumed-role/NAME/` for a role ARN (a role's path is not in its sessions' ARNs). */
function assumedRolePrefix(roleArn: string): string | undefined {
  const m = /^arn:([a-z-]+):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(roleArn);
  return m ? `arn:${m[1]}:sts::${m[2]}:assumed-role/${m[3]}/` : undefined;
}

/**
 * Where global services (IAM, STS's global endpoint) deliver their CloudTrail events to
 * EventBridge: us-east-1 in the aws partition. Other partitions are not handled (undefined).
 */
export function globalEventsRegion(region: string): string | undefined {
  return /^(us-gov-|cn-)/.test(region) ? undefined : "us-east-1";
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const HTTPS = /^https:\/\/[^\s/]+(\/\S*)?$/;

/**
 * In the archive account: silencing the heartbeat alarms (deleting them, disabling their actions,
 * rewriting them, or forcing their state). The EventBridge event reference gives `aws.monitoring`
 * as the source of CloudWatch API calls delivered through CloudTrail (eventSource
 * monitoring.amazonaws.com); `aws.cloudwatch` is matched too, at no cost, in case events carry it.
 * All four calls are writes (read-only events would need ALL_MANAGEMENT_EVENTS).
 */
export const ALARM_TAMPERING_EVENTS = {
  source: ["aws.monitoring", "aws.cloudwatch"],
  eventSource: "monitoring.amazonaws.com",
  eventNames: ["DeleteAlarms", "DisableAlarmActions", "PutMetricAlarm", "SetAlarmState"],
} as const;

/**
 * In the archive account: a new default version of a customer-managed policy. A policy attached
 * to the break-glass role could be widened this way without any event naming the role (the call
 * names the policy ARN only), so the pattern cannot be narrowed to the role's policies: the
 * archive alerts on every such change in its account (nothing there changes IAM routinely).
 */
export const MANAGED_POLICY_EVENTS = { source: "aws.iam", eventSource: "iam.amazonaws.com", eventNames: ["CreatePolicyVersion", "SetDefaultPolicyVersion"] } as const;

/** The CloudTrail management events that end or weaken the audit record, by alert. */
export const AUDIT_TAMPERING_EVENTS = {
  /** Destroying, disabling or re-policying a KMS key (an evidence, trail or signing key). */
  keyCustody: {
    source: "aws.kms",
    eventSource: "kms.amazonaws.com",
    // Alias changes re-point what trails, cosign and writers that name an alias actually use.
    eventNames: ["PutKeyPolicy", "ScheduleKeyDeletion", "DisableKey", "DisableKeyRotation", "DeleteImportedKeyMaterial", "CreateAlias", "UpdateAlias", "DeleteAlias"],
  },
  /** Changing who may reach a bucket, or switching its access logs, lifecycle, encryption or lock. */
  bucketProtection: {
    source: "aws.s3",
    eventSource: "s3.amazonaws.com",
    eventNames: ["PutBucketPolicy", "DeleteBucketPolicy", "PutBucketLogging", "PutBucketLifecycle", "DeleteBucketLifecycle", "PutBucketEncryption", "DeleteBucketEncryption", "PutObjectLockConfiguration", "PutBucketVersioning"],
  },
  /** Stopping, deleting or narrowing a trail. */
  trail: { source: "aws.cloudtrail", eventSource: "cloudtrail.amazonaws.com", eventNames: ["StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"] },
  /** Silencing the alerts themselves: their rules and targets (the forwarding ones included). */
  alertRules: { source: "aws.events", eventSource: "events.amazonaws.com", eventNames: ["DeleteRule", "DisableRule", "RemoveTargets", "PutRule", "PutTargets", "PutPermission", "RemovePermission"] },
  /** Silencing the alerts themselves: their topic and its subscriptions. */
  alertTopics: { source: "aws.sns", eventSource: "sns.amazonaws.com", eventNames: ["DeleteTopic", "SetTopicAttributes", "Unsubscribe", "RemovePermission"] },
} as const;

/**
 * Alerts on the events that end or weaken the audit record: EventBridge rules on CloudTrail
 * management events ("AWS API Call via CloudTrail", which EventBridge receives only while a
 * trail logs in the account), published to an SNS topic encrypted with a customer-managed key.
 * `subscribers` are subscribed in code. EventBridge rules are regional: they see the API calls
 * made in (or, for global services such as IAM, delivered to) their own region; calls made in other
 * regions reach the multi-region trail's log files but alert only where a rule exists.
 *
 * In an environment account, `forwardTo` also sends every event it alerts on to the archive
 * account's default bus through rules of their own, so deleting or disabling the local alerting
 * does not silence the archive, and the archive bus admits them (`admitForwardedEvents`).
 */
export class SecurityAlerts extends Construct {
  /** The role environment forwarding rules deliver to the archive's bus with: same name in every environment account. */
  public static forwarderRoleName(env: string): string {
    return `hipaa-${env}-security-event-forwarder`.slice(0, 64);
  }
  /** The environment's heartbeat rule: named, so the archive can expect its events by ARN. */
  public static heartbeatRuleName(env: string): string {
    return `hipaa-${env}-archive-heartbeat`.slice(0, 64);
  }

  public readonly topic: SnsTopic;
  public readonly key: KmsKey;
  public readonly rules: CloudwatchEventRule[] = [];
  /** Rules that forward this account's security events to the archive's bus (`forwardTo`). */
  public readonly forwardingRules: CloudwatchEventRule[] = [];
  public readonly subscriptions: SnsTopicSubscription[] = [];
  /** Alarms on environments gone silent (`expectHeartbeats`). */
  public readonly heartbeatAlarms: CloudwatchMetricAlarm[] = [];
  private readonly patterns: { readonly id: string; readonly description: string; readonly pattern: Record<string, unknown>; readonly state?: string }[] = [];
  private readonly keyPolicy: PolicyDocument;
  /** Where `forwardTo` sends (the archive's bus) and with which role: `watchGlobalRegion` forwards its copies there too. */
  private forwarder?: { readonly busArn: string; readonly role: IamRole };

  constructor(scope: Construct, id: string, props: SecurityAlertsProps) {
    super(scope, id);
    const account = AwsAccountContext.of(this);
    if (props.custody) validateBreakGlassRoleArn(this.node.path, props.custody);
    const keyPolicy = (this.keyPolicy = new PolicyDocument(`${this.node.path}/Key`, [
      // Break-glass administers too: it may live in another account (the archive's), where the
      // account-root statement would not reach it, and nobody else may re-policy this key.
      kmsAdministrationStatement(props.custody ? [account.accountRootArn, props.custody.breakGlassRoleArn] : [account.accountRootArn]),
      ...(props.custody ? keyCustodyStatements(props.custody) : []),
      {
        // EventBridge encrypts what it publishes to an SSE-KMS topic with this key. No
        // aws:SourceAccount / aws:SourceArn condition: the SNS Developer Guide ("Key management",
        // compatibility with AWS services) says they are not supported in a KMS key policy for
        // EventBridge-to-encrypted-topic delivery, and with one every alert is dropped silently.
        // The topic policy still admits only this construct's rules (aws:SourceArn there works).
        sid: "EventBridgePublishesEncrypted",
        effect: "Allow",
        principals: { Service: ["events.amazonaws.com"] },
        actions: ["kms:GenerateDataKey", "kms:Decrypt"],
        resources: ["*"],
      },
    ]));
    this.key = new KmsKey(this, "Key", {
      description: `Encrypts the ${props.topicName} alert topic (45 CFR 164.308(a)(1)(ii)(D))`,
      enableKeyRotation: true,
      deletionWindowInDays: KMS_DELETION_WINDOW_DAYS,
      policy: keyPolicy.toJson(),
      // See CUSTODY_LOCKOUT_REASON (key-custody.ts).
      bypassPolicyLockoutSafetyCheck: props.custody ? true : undefined,
      // Deleting the key would leave the topic unable to publish: every alert silently lost.
      lifecycle: { preventDestroy: true },
    });
    this.topic = new SnsTopic(this, "Topic", { name: props.topicName, kmsMasterKeyId: this.key.arn });
    const topicPolicy = new SnsTopicPolicy(this, "TopicPolicy", {
      arn: this.topic.arn,
      policy: Lazy.stringValue({
        produce: () =>
          new PolicyDocument(`${this.node.path}/TopicPolicy`, [
            {
              sid: "AlertRulesPublish",
              effect: "Allow",
              principals: { Service: ["events.amazonaws.com"] },
              actions: ["sns:Publish"],
              resources: [this.topic.arn],
              conditions: { ArnEquals: { "aws:SourceArn": this.rules.map((r) => r.arn) } },
            },
            ...(this.heartbeatAlarms.length > 0
              ? [
                  {
                    sid: "SilenceAlarmsPublish",
                    effect: "Allow" as const,
                    principals: { Service: ["cloudwatch.amazonaws.com"] },
                    actions: ["sns:Publish"],
                    resources: [this.topic.arn],
                    conditions: { ArnEquals: { "aws:SourceArn": this.heartbeatAlarms.map((a) => a.arn) } },
                  },
                ]
              : []),
          ]).render(),
      }),
    });
    for (const endpoint of props.subscribers ?? []) this.subscribe(endpoint);
    recordControl(this, {
      section: Cfr.ACTIVITY_REVIEW,
      resources: [this.topic, topicPolicy, this.key],
      how: "Tampering with keys, bucket protections or trails, and any use of the break-glass role, is published as it happens to a CMK-encrypted SNS topic.",
    });
  }

  /** Subscribes an `https://` endpoint or an email address (pending until it confirms). */
  public subscribe(endpoint: string): SnsTopicSubscription {
    const protocol = Token.isUnresolved(endpoint) ? undefined : HTTPS.test(endpoint) ? "https" : EMAIL.test(endpoint) ? "email" : undefined;
    if (!protocol) {
      throw new HipaaConfigError({
        path: `${this.node.path}/subscribers`,
        problem: `alert subscriber ${JSON.stringify(endpoint)} is not an https:// URL or an email address (plain http would carry alerts naming keys, roles and buckets in clear text)`,
        cfr: Cfr.ACTIVITY_REVIEW,
        fix: "pass the security team's paging or chat webhook as https://..., or a monitored email address",
      });
    }
    // Construct ids from the endpoint, never its position: adding a subscriber moves no other.
    const subscription = new SnsTopicSubscription(this, `Subscriber-${stableSuffix(endpoint)}`, { topicArn: this.topic.arn, protocol, endpoint });
    this.subscriptions.push(subscription);
    recordControl(this, { section: Cfr.ACTIVITY_REVIEW, resources: [subscription], how: `Security alerts are delivered to ${protocol === "email" ? "a monitored mailbox" : "an https endpoint"} subscribed in code (confirmed by its owner).` });
    return subscription;
  }

  /**
   * Forwards every event this construct alerts on (call it after the `alertOn*` calls) to the
   * archive account's bus `busArn`, through rules of their own and a role (`roleName`) that only
   * EventBridge, for exactly those rules, may assume and that may only PutEvents to that bus.
   */
  public forwardTo(busArn: string, roleName: string, heartbeatRuleName?: string): IamRole {
    const account = AwsAccountContext.of(this);
    const role = new IamRole(this, "ForwarderRole", {
      name: roleName,
      description: "EventBridge delivers this account's security events to the archive account's bus",
      maxSessionDuration: 3600,
      assumeRolePolicy: Lazy.stringValue({
        produce: () =>
          new PolicyDocument(`${this.node.path}/ForwarderRole`, [
            {
              sid: "ForwardingRulesOnly",
              effect: "Allow",
              principals: { Service: ["events.amazonaws.com"] },
              actions: ["sts:AssumeRole"],
              conditions: { StringEquals: { "aws:SourceAccount": account.accountId }, ArnEquals: { "aws:SourceArn": this.forwardingRules.map((r) => r.arn) } },
            },
          ]).render(),
      }),
    });
    new IamRolePolicy(this, "ForwarderPolicy", {
      role: role.id,
      name: "put-events-to-archive-bus",
      policy: new PolicyDocument(`${this.node.path}/ForwarderPolicy`, [{ sid: "PutEventsToArchiveBus", effect: "Allow", actions: ["events:PutEvents"], resources: [busArn] }]).render(),
    });
    this.forwarder = { busArn, role };
    for (const p of this.patterns) {
      const rule = new CloudwatchEventRule(this, `Forward${p.id}`, { description: `Forwarded to the archive: ${p.description}`, eventPattern: JSON.stringify(p.pattern), state: p.state });
      new CloudwatchEventTarget(this, `Forward${p.id}Target`, { rule: rule.name, arn: busArn, roleArn: role.arn });
      this.forwardingRules.push(rule);
    }
    if (heartbeatRuleName) {
      // A forwarder someone broke (its trust, its policy, the rules) fails silently; the archive
      // expects this rule's scheduled events through the same role and alarms when they stop.
      const heartbeat = new CloudwatchEventRule(this, "Heartbeat", {
        name: heartbeatRuleName,
        description: "Heartbeat to the archive's bus: the archive alarms when these stop arriving",
        scheduleExpression: `rate(${HEARTBEAT_MINUTES} minutes)`,
      });
      new CloudwatchEventTarget(this, "HeartbeatTarget", { rule: heartbeat.name, arn: busArn, roleArn: role.arn });
      this.forwardingRules.push(heartbeat);
    }
    recordControl(this, {
      section: Cfr.ACTIVITY_REVIEW,
      resources: [role, ...this.forwardingRules],
      how: `This account's security events are also forwarded to the archive account's bus ${busArn}, so disabling the local alerts does not silence the archive; changes to either set of rules are themselves alerted.`,
    });
    return role;
  }

  /**
   * Global services deliver their CloudTrail events in one region (`us-east-1` in the aws
   * partition): IAM, and STS through its global endpoint, which console and SSO sign-ins use to
   * assume roles. When this construct's rules run elsewhere, this mirrors its role-assumption rules
   * in `globalRegion` (the provider's per-resource `region`) and sends what they match to this
   * account's bus in its home region (`homeBusArn`), where the rules above alert.
   *
   * An event that reached a bus from another bus is not routed on to a third (EventBridge User
   * Guide, cross-account events: an event traverses from one bus to another once), so the home
   * region's Forward* rules would never deliver what arrives this way. After `forwardTo`, each
   * copy therefore has a second copy (`GlobalForward*`) in `globalRegion` that sends straight to
   * the archive's bus (a bus in another account and Region is a valid target, "Sending and
   * receiving events between AWS Regions") through the forwarder role, whose trust admits it.
   */
  public watchGlobalRegion(globalRegion: string, homeBusArn: string, roleName: string): CloudwatchEventRule[] {
    const account = AwsAccountContext.of(this);
    // STS through its global endpoint, console sign-ins (SwitchRole) and IAM deliver here.
    const assumptions = this.patterns.filter((p) => ((p.pattern.source as string[] | undefined) ?? []).some((s) => ["aws.sts", "aws.signin", "aws.iam"].includes(s)));
    if (assumptions.length === 0) return [];
    const rules: CloudwatchEventRule[] = [];
    const role = new IamRole(this, "GlobalRegionRole", {
      name: roleName,
      description: `EventBridge in ${globalRegion} delivers global services' security events to this account's home-region bus`,
      maxSessionDuration: 3600,
      assumeRolePolicy: Lazy.stringValue({
        produce: () =>
          new PolicyDocument(`${this.node.path}/GlobalRegionRole`, [
            {
              sid: "GlobalRegionRulesOnly",
              effect: "Allow",
              principals: { Service: ["events.amazonaws.com"] },
              actions: ["sts:AssumeRole"],
              conditions: { StringEquals: { "aws:SourceAccount": account.accountId }, ArnEquals: { "aws:SourceArn": rules.map((r) => r.arn) } },
            },
          ]).render(),
      }),
    });
    new IamRolePolicy(this, "GlobalRegionPolicy", {
      role: role.id,
      name: "put-events-to-home-bus",
      policy: new PolicyDocument(`${this.node.path}/GlobalRegionPolicy`, [{ sid: "PutEventsToHomeBus", effect: "Allow", actions: ["events:PutEvents"], resources: [homeBusArn] }]).render(),
    });
    for (const p of assumptions) {
      const rule = new CloudwatchEventRule(this, `Global${p.id}`, { region: globalRegion, description: `In ${globalRegion}, sent to the home region: ${p.description}`, eventPattern: JSON.stringify(p.pattern), state: p.state });
      new CloudwatchEventTarget(this, `Global${p.id}Target`, { region: globalRegion, rule: rule.name, arn: homeBusArn, roleArn: role.arn });
      rules.push(rule);
    }
    const forwarded: CloudwatchEventRule[] = [];
    if (this.forwarder) {
      for (const p of assumptions) {
        const rule = new CloudwatchEventRule(this, `GlobalForward${p.id}`, {
          region: globalRegion,
          description: `In ${globalRegion}, forwarded straight to the archive (one bus-to-bus hop): ${p.description}`,
          eventPattern: JSON.stringify(p.pattern),
          state: p.state,
        });
        new CloudwatchEventTarget(this, `GlobalForward${p.id}Target`, { region: globalRegion, rule: rule.name, arn: this.forwarder.busArn, roleArn: this.forwarder.role.arn });
        // The forwarder role's trust (Lazy, over forwardingRules) admits these rules too.
        this.forwardingRules.push(rule);
        forwarded.push(rule);
      }
      recordControl(this, {
        section: Cfr.ACTIVITY_REVIEW,
        resources: forwarded,
        how: `Role assumptions and IAM changes delivered in ${globalRegion} are forwarded from there directly to the archive's bus ${this.forwarder.busArn} (an event crosses only one bus-to-bus hop).`,
      });
    }
    recordControl(this, { section: Cfr.ACTIVITY_REVIEW, resources: [role, ...rules], how: `Role assumptions delivered in ${globalRegion} (global STS endpoint, console and SSO sign-ins) reach the home-region alerts through ${homeBusArn}.` });
    return rules;
  }

  /**
   * In the archive account: lets exactly `sources` (each account, through its forwarder role)
   * put events on this account's default bus, and alerts on every event they forward.
   */
  public admitForwardedEvents(sources: readonly ForwardedEventSource[]): CloudwatchEventRule | undefined {
    if (sources.length === 0) return undefined;
    const account = AwsAccountContext.of(this);
    const busArn = `arn:${account.partition}:events:${account.region}:${account.accountId}:event-bus/default`;
    const busPolicy = new CloudwatchEventBusPolicy(this, "ForwardedEventsBusPolicy", {
      eventBusName: "default",
      policy: new PolicyDocument(
        `${this.node.path}/ForwardedEventsBusPolicy`,
        sources.map((s) => ({
          sid: `ForwardedFrom${s.accountId}`,
          effect: "Allow" as const,
          principals: { AWS: [`arn:${account.partition}:iam::${s.accountId}:root`] },
          actions: ["events:PutEvents"],
          resources: [busArn],
          // The account root as principal (the role need not exist yet), narrowed to the one role.
          conditions: { ArnEquals: { "aws:PrincipalArn": s.forwarderRoleArn } },
        })),
      ).render(),
    });
    const sourcesForwarded = [...new Set([...Object.values(AUDIT_TAMPERING_EVENTS).map((e) => e.source), "aws.sts", "aws.signin", "aws.iam"])];
    const rule = this.addRule(
      "EnvironmentSecurityEvents",
      "A security event forwarded from an environment account (key, bucket, trail or alert tampering, a change to its forwarder or break-glass role, or its break-glass role assumed)",
      {
        account: sources.map((s) => s.accountId),
        source: sourcesForwarded,
        "detail-type": ["AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail"],
      },
      // Forwarded role assumptions are read-only management events too.
      ALL_MANAGEMENT_EVENTS,
    );
    recordControl(this, { section: Cfr.ACTIVITY_REVIEW, resources: [busPolicy, rule], how: `The archive's bus admits security events from ${sources.map((s) => s.accountId).join(", ")} only, each through its forwarder role, and alerts on every one.` });
    return rule;
  }

  /**
   * Alerts on `events` (one AUDIT_TAMPERING_EVENTS entry). `account` pins the rule to events of
   * that account: on a bus that admits other accounts' events, an unpinned rule matches theirs too.
   */
  public alertOn(id: string, description: string, events: { readonly source: string | readonly string[]; readonly eventSource: string; readonly eventNames: readonly string[] }, account?: string): CloudwatchEventRule {
    return this.addRule(id, description, {
      ...(account ? { account: [account] } : {}),
      source: [events.source].flat(),
      "detail-type": ["AWS API Call via CloudTrail"],
      detail: { eventSource: [events.eventSource], eventName: [...events.eventNames] },
    });
  }

  /**
   * Alerts whenever `roleArn` is assumed, however (console SSO, CLI, another role, or a console
   * role switch, which CloudTrail records as signin.amazonaws.com `SwitchRole` with the session's
   * assumed-role ARN). AssumeRole* are read-only management events, so the rules match all
   * management events (`ALL_MANAGEMENT_EVENTS`). STS through a regional endpoint is logged in that
   * endpoint's region: these rules see the home region and (`watchGlobalRegion`) us-east-1 only.
   */
  public alertOnRoleAssumed(id: string, roleArn: string, account?: string): CloudwatchEventRule {
    const rule = this.addRule(
      id,
      `The break-glass role ${roleArn} was assumed`,
      {
        ...(account ? { account: [account] } : {}),
        source: ["aws.sts"],
        "detail-type": ["AWS API Call via CloudTrail"],
        detail: { eventSource: ["sts.amazonaws.com"], eventName: ["AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"], requestParameters: { roleArn: [roleArn] } },
      },
      ALL_MANAGEMENT_EVENTS,
    );
    const sessions = Token.isUnresolved(roleArn) ? undefined : assumedRolePrefix(roleArn);
    if (sessions) {
      this.addRule(
        `${id}Console`,
        `The break-glass role ${roleArn} was switched to in the console`,
        {
          ...(account ? { account: [account] } : {}),
          source: ["aws.signin"],
          "detail-type": ["AWS Console Sign In via CloudTrail"],
          detail: { eventSource: ["signin.amazonaws.com"], eventName: ["SwitchRole"], userIdentity: { arn: [{ prefix: sessions }] } },
        },
        ALL_MANAGEMENT_EVENTS,
      );
    }
    return rule;
  }

  /**
   * Alerts on IAM changes to the roles named `roleNames` (their trust, policies, boundary,
   * deletion). IAM delivers its events in us-east-1 only: elsewhere, `watchGlobalRegion` brings them.
   */
  public alertOnRoleChanges(id: string, roleNames: readonly string[], account?: string): CloudwatchEventRule {
    return this.addRule(id, `A guarded role (${roleNames.join(", ")}) had its trust, policies or boundary changed, or was deleted`, {
      ...(account ? { account: [account] } : {}),
      source: ["aws.iam"],
      "detail-type": ["AWS API Call via CloudTrail"],
      detail: { eventSource: ["iam.amazonaws.com"], eventName: [...GUARDED_ROLE_EVENTS], requestParameters: { roleName: [...roleNames] } },
    });
  }

  /**
   * In the archive account: per source, a rule matching its heartbeat and an alarm on the rule's
   * MatchedEvents (AWS/Events, dimension RuleName) that fires when none arrive for
   * HEARTBEAT_ALARM_MINUTES, missing data counting as breaching: a broken forwarder, a deleted
   * heartbeat, a disabled rule or a policy change on either side all end the same way.
   */
  public expectHeartbeats(prefix: string, sources: readonly HeartbeatSource[]): CloudwatchMetricAlarm[] {
    const account = AwsAccountContext.of(this);
    const alarmNames: string[] = [];
    for (const s of sources) {
      const ruleName = `${prefix}-heartbeat-${s.id}`.slice(0, 64);
      const rule = new CloudwatchEventRule(this, `Heartbeat-${s.id}`, {
        name: ruleName,
        description: `Heartbeat of ${s.id} (account ${s.accountId}): counted by the alarm ${ruleName}`,
        eventPattern: JSON.stringify({ account: [s.accountId], source: ["aws.events"], "detail-type": ["Scheduled Event"], resources: [s.ruleArn] }),
      });
      const periods = HEARTBEAT_ALARM_MINUTES / HEARTBEAT_MINUTES;
      const alarm = new CloudwatchMetricAlarm(this, `HeartbeatMissing-${s.id}`, {
        alarmName: ruleName,
        alarmDescription: `No heartbeat from ${s.id} (account ${s.accountId}) for ${HEARTBEAT_ALARM_MINUTES} minutes: its security events may no longer reach the archive (forwarder role, rules or bus policy changed)`,
        namespace: "AWS/Events",
        metricName: "MatchedEvents",
        dimensions: { RuleName: rule.name },
        statistic: "Sum",
        period: HEARTBEAT_MINUTES * 60,
        evaluationPeriods: periods,
        datapointsToAlarm: periods,
        threshold: 1,
        comparisonOperator: "LessThanThreshold",
        treatMissingData: "breaching",
        alarmActions: [this.topic.arn],
        okActions: [this.topic.arn],
      });
      this.heartbeatAlarms.push(alarm);
      alarmNames.push(ruleName);
      recordControl(this, { section: Cfr.ACTIVITY_REVIEW, resources: [rule, alarm], how: `The archive alarms when ${s.id}'s heartbeat stops arriving for ${HEARTBEAT_ALARM_MINUTES} minutes, so a broken forwarder cannot silence that environment unnoticed.` });
    }
    if (sources.length > 0) {
      // CloudWatch encrypts what its alarms publish to this SSE-KMS topic with the key. Unlike
      // EventBridge's, this grant may carry aws:SourceAccount and aws:SourceArn.
      this.keyPolicy.addStatement({
        sid: "SilenceAlarmsPublishEncrypted",
        effect: "Allow",
        principals: { Service: ["cloudwatch.amazonaws.com"] },
        actions: ["kms:GenerateDataKey*", "kms:Decrypt"],
        resources: ["*"],
        conditions: {
          StringEquals: { "aws:SourceAccount": account.accountId },
          ArnLike: { "aws:SourceArn": alarmNames.map((n) => `arn:${account.partition}:cloudwatch:${account.region}:${account.accountId}:alarm:${n}`) },
        },
      });
    }
    return this.heartbeatAlarms;
  }

  private addRule(id: string, description: string, pattern: Record<string, unknown>, state?: string): CloudwatchEventRule {
    const rule = new CloudwatchEventRule(this, id, { description, eventPattern: JSON.stringify(pattern), state });
    new CloudwatchEventTarget(this, `${id}Target`, { rule: rule.name, arn: this.topic.arn });
    this.rules.push(rule);
    this.patterns.push({ id, description, pattern, state });
    recordControl(this, { section: Cfr.ACTIVITY_REVIEW, resources: [rule], how: description });
    return rule;
  }
}
