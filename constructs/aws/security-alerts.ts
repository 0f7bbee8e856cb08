import { Construct } from "constructs";
import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy";
import { Lazy } from "cdktf";
import { Cfr, recordControl } from "../../src/compliance";
import { AwsAccountContext } from "./account-context";
import { PolicyDocument } from "./iam-policy";
import { KeyCustody, keyCustodyStatements, validateBreakGlassRoleArn } from "./key-custody";
import { kmsAdministrationStatement, KMS_DELETION_WINDOW_DAYS } from "./kms-policy";

export interface SecurityAlertsProps {
  /** The SNS topic's name, e.g. `hipaa-archive-security-alerts`. */
  readonly topicName: string;
  /** Custody of the topic's key. @default - none */
  readonly custody?: KeyCustody;
}

/** The CloudTrail management events that end or weaken the audit record, by alert. */
export const AUDIT_TAMPERING_EVENTS = {
  /** Destroying, disabling or re-policying a KMS key (an evidence, trail or signing key). */
  keyCustody: { source: "aws.kms", eventSource: "kms.amazonaws.com", eventNames: ["PutKeyPolicy", "ScheduleKeyDeletion", "DisableKey", "DisableKeyRotation", "DeleteImportedKeyMaterial"] },
  /** Changing who may reach a bucket, or switching its access logs, lifecycle, encryption or lock. */
  bucketProtection: {
    source: "aws.s3",
    eventSource: "s3.amazonaws.com",
    eventNames: ["PutBucketPolicy", "DeleteBucketPolicy", "PutBucketLogging", "PutBucketLifecycle", "DeleteBucketLifecycle", "PutBucketEncryption", "DeleteBucketEncryption", "PutObjectLockConfiguration", "PutBucketVersioning"],
  },
  /** Stopping, deleting or narrowing a trail. */
  trail: { source: "aws.cloudtrail", eventSource: "cloudtrail.amazonaws.com", eventNames: ["StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"] },
} as const;

/**
 * Alerts on the events that end or weaken the audit record: EventBridge rules on CloudTrail
 * management events ("AWS API Call via CloudTrail", which EventBridge receives only while a
 * trail logs in the account), published to an SNS topic encrypted with a customer-managed key.
 * Subscribe the security team (email, chat, paging) to `topic`. EventBridge rules are regional:
 * calls made in other regions reach the multi-region trail but alert only where a rule exists.
 */
export class SecurityAlerts extends Construct {
  public readonly topic: SnsTopic;
  public readonly key: KmsKey;
  public readonly rules: CloudwatchEventRule[] = [];

  constructor(scope: Construct, id: string, props: SecurityAlertsProps) {
    super(scope, id);
    const account = AwsAccountContext.of(this);
    if (props.custody) validateBreakGlassRoleArn(this.node.path, props.custody);
    const keyPolicy = new PolicyDocument(`${this.node.path}/Key`, [
      // Break-glass administers too: it may live in another account (the archive's), where the
      // account-root statement would not reach it, and nobody else may re-policy this key.
      kmsAdministrationStatement(props.custody ? [account.accountRootArn, props.custody.breakGlassRoleArn] : [account.accountRootArn]),
      ...(props.custody ? keyCustodyStatements(props.custody.breakGlassRoleArn) : []),
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
    recordControl(this, {
      section: Cfr.ACTIVITY_REVIEW,
      resources: [this.topic, topicPolicy, this.key],
      how: "Tampering with keys, bucket protections or trails, and any use of the break-glass role, is published as it happens to a CMK-encrypted SNS topic.",
    });
  }

  /** Alerts on `events` (one AUDIT_TAMPERING_EVENTS entry). */
  public alertOn(id: string, description: string, events: { readonly source: string; readonly eventSource: string; readonly eventNames: readonly string[] }): CloudwatchEventRule {
    return this.addRule(id, description, {
      source: [events.source],
      "detail-type": ["AWS API Call via CloudTrail"],
      detail: { eventSource: [events.eventSource], eventName: [...events.eventNames] },
    });
  }

  /** Alerts whenever `roleArn` is assumed, however (console SSO, CLI, another role). */
  public alertOnRoleAssumed(id: string, roleArn: string): CloudwatchEventRule {
    return this.addRule(id, `The break-glass role ${roleArn} was assumed`, {
      source: ["aws.sts"],
      "detail-type": ["AWS API Call via CloudTrail"],
      detail: { eventSource: ["sts.amazonaws.com"], eventName: ["AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"], requestParameters: { roleArn: [roleArn] } },
    });
  }

  private addRule(id: string, description: string, pattern: Record<string, unknown>): CloudwatchEventRule {
    const rule = new CloudwatchEventRule(this, id, { description, eventPattern: JSON.stringify(pattern) });
    new CloudwatchEventTarget(this, `${id}Target`, { rule: rule.name, arn: this.topic.arn });
    this.rules.push(rule);
    recordControl(this, { section: Cfr.ACTIVITY_REVIEW, resources: [rule], how: description });
    return rule;
  }
}
