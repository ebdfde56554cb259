/**
 * Where the platform's alarms and pipeline outcomes go: one SNS topic per environment, KMS-encrypted with
 * the audit key, TLS-only, with the configured address subscribed.
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';

/** Properties of {@link AlertsStack}. */
export interface AlertsStackProps extends StackProps {
  readonly envName: string;
  readonly notificationEmail: string;
  readonly key: kms.IKey;
}

/** The notification topic. */
export class AlertsStack extends Stack {
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: AlertsStackProps) {
    super(scope, id, props);
    this.topic = new sns.Topic(this, 'Notifications', {
      displayName: `mlp ${props.envName} alerts`,
      masterKey: props.key,
      enforceSSL: true,
    });
    this.topic.addSubscription(new subscriptions.EmailSubscription(props.notificationEmail));
  }
}
