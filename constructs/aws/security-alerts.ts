import { Construct } from "constructs";
import { CloudwatchEventBusPolicy } from "@cdktf/provider-aws/lib/cloudwatch-event-bus-policy";
import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
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

/**
 * Where global services (IAM, STS's global endpoint) deliver their CloudTrail events to
 * EventBridge: us-east-1 in the aws partition. Other partitions are not handled (undefined).
 */
export function globalEventsRegion(region: string): string | undefined {
  return /^(us-gov-|cn-)/.test(region) ? undefined : "us-east-1";
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const HTTPS = /^https:\/\/[^\s/]+(\/\S*)?$/;

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

  public readonly topic: SnsTopic;
  public readonly key: KmsKey;
  public readonly rules: CloudwatchEventRule[] = [];
  /** Rules that forward this account's security events to the archive's bus (`forwardTo`). */
  public readonly forwardingRules: CloudwatchEventRule[] = [];
  public readonly subscriptions: SnsTopicSubscription[] = [];
  private readonly patterns: { readonly id: string; readonly description: string; readonly pattern: Record<string, unknown> }[] = [];

  constructor(scope: Construct, id: string, props: SecurityAlertsProps) {
    super(scope, id);
    const account = AwsAccountContext.of(this);
    if (props.custody) validateBreakGlassRoleArn(this.node.path, props.custody);
    const keyPolicy = new PolicyDocument(`${this.node.path}/Key`, [
      // Break-glass administers too: it may live in another account (the archive's), where the
      // account-root statement would not reach it, and nobody else may re-policy this key.
      kmsAdministrationStatement(props.custody ? [account.accountRootArn, props.custody.breakGlassRoleArn] : [account.accountRootArn]),
      ...(props.custody ? keyCustodyStatements(props.custody) : []),
      {
        // EventBridge encrypts what it publishes to an SSE-KMS topic with this key.
        sid: "EventBridgePublishesEncrypted",
        effect: "Allow",
        principals: { Service: ["events.amazonaws.com"] },
        actions: ["kms:GenerateDataKey", "kms:Decrypt"],
        resources: ["*"],
        conditions: { StringEquals: { "aws:SourceAccount": account.accountId } },
      },
    ]);
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
  public forwardTo(busArn: string, roleName: string): IamRole {
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
    for (const p of this.patterns) {
      const rule = new CloudwatchEventRule(this, `Forward${p.id}`, { description: `Forwarded to the archive: ${p.description}`, eventPattern: JSON.stringify(p.pattern) });
      new CloudwatchEventTarget(this, `Forward${p.id}Target`, { rule: rule.name, arn: busArn, roleArn: role.arn });
      this.forwardingRules.push(rule);
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
   * account's bus in its home region (`homeBusArn`), where the rules above alert (and forward).
   */
  public watchGlobalRegion(globalRegion: string, homeBusArn: string, roleName: string): CloudwatchEventRule[] {
    const account = AwsAccountContext.of(this);
    const assumptions = this.patterns.filter((p) => (p.pattern.source as string[] | undefined)?.includes("aws.sts"));
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
      const rule = new CloudwatchEventRule(this, `Global${p.id}`, { region: globalRegion, description: `In ${globalRegion}, sent to the home region: ${p.description}`, eventPattern: JSON.stringify(p.pattern) });
      new CloudwatchEventTarget(this, `Global${p.id}Target`, { region: globalRegion, rule: rule.name, arn: homeBusArn, roleArn: role.arn });
      rules.push(rule);
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
    const sourcesForwarded = [...new Set([...Object.values(AUDIT_TAMPERING_EVENTS).map((e) => e.source), "aws.sts"])];
    const rule = this.addRule("EnvironmentSecurityEvents", "A security event forwarded from an environment account (key, bucket, trail or alert tampering, or its break-glass role assumed)", {
      account: sources.map((s) => s.accountId),
      source: sourcesForwarded,
      "detail-type": ["AWS API Call via CloudTrail"],
    });
    recordControl(this, { section: Cfr.ACTIVITY_REVIEW, resources: [busPolicy, rule], how: `The archive's bus admits security events from ${sources.map((s) => s.accountId).join(", ")} only, each through its forwarder role, and alerts on every one.` });
    return rule;
  }

  /** Alerts on `events` (one AUDIT_TAMPERING_EVENTS entry). */
  /**
   * Alerts on `events` (one AUDIT_TAMPERING_EVENTS entry). `account` pins the rule to events of
   * that account: on a bus that admits other accounts' events, an unpinned rule matches theirs too.
   */
  public alertOn(id: string, description: string, events: { readonly source: string; readonly eventSource: string; readonly eventNames: readonly string[] }, account?: string): CloudwatchEventRule {
    return this.addRule(id, description, {
      ...(account ? { account: [account] } : {}),
      source: [events.source],
      "detail-type": ["AWS API Call via CloudTrail"],
      detail: { eventSource: [events.eventSource], eventName: [...events.eventNames] },
    });
  }

  /** Alerts whenever `roleArn` is assumed, however (console SSO, CLI, another role). */
  public alertOnRoleAssumed(id: string, roleArn: string, account?: string): CloudwatchEventRule {
    return this.addRule(id, `The break-glass role ${roleArn} was assumed`, {
      ...(account ? { account: [account] } : {}),
      source: ["aws.sts"],
      "detail-type": ["AWS API Call via CloudTrail"],
      detail: { eventSource: ["sts.amazonaws.com"], eventName: ["AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"], requestParameters: { roleArn: [roleArn] } },
    });
  }

  private addRule(id: string, description: string, pattern: Record<string, unknown>): CloudwatchEventRule {
    const rule = new CloudwatchEventRule(this, id, { description, eventPattern: JSON.stringify(pattern) });
    new CloudwatchEventTarget(this, `${id}Target`, { rule: rule.name, arn: this.topic.arn });
    this.rules.push(rule);
    this.patterns.push({ id, description, pattern });
    recordControl(this, { section: Cfr.ACTIVITY_REVIEW, resources: [rule], how: description });
    return rule;
  }
}
