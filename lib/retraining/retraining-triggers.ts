/**
 * What starts a retraining: an extract manifest landing (S3 → EventBridge rule, the manifest's key in the
 * input), a drift alarm entering ALARM (EventBridge rule), and an EventBridge Scheduler cron.
 */
import type { Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { driftAlarmPrefix } from '../../contracts/resource-names';
import { landing } from '../../contracts/s3-layout';
import { acknowledge, INLINE_POLICY } from '../compliance/acknowledge';

/** Properties of {@link addRetrainingTriggers}. */
export interface RetrainingTriggersProps {
  readonly envName: string;
  readonly dataset: string;
  readonly stateMachine: sfn.StateMachine;
  /** The bucket the agent's manifests land in (EventBridge notifications on). */
  readonly landingBucket: s3.IBucket;
  /** EventBridge Scheduler expression, e.g. `cron(0 3 ? * MON *)`. */
  readonly schedule: string;
}

const START_ONLY = 'states:StartExecution on the retraining state machine only; inline keeps it deleted with the role.';

/** Adds the three triggers of the state machine to `stack`. */
export function addRetrainingTriggers(stack: Stack, props: RetrainingTriggersProps): void {
  const { envName, dataset, stateMachine } = props;
  new events.Rule(stack, 'OnManifest', {
    description: `mlp ${envName}: retrain ${dataset} when an extract manifest lands`,
    eventPattern: {
      source: ['aws.s3'],
      detailType: ['Object Created'],
      detail: {
        bucket: { name: [props.landingBucket.bucketName] },
        object: { key: [{ wildcard: landing.manifestWildcard(dataset) }] },
      },
    },
    targets: [
      new targets.SfnStateMachine(stateMachine, {
        input: events.RuleTargetInput.fromObject({
          manifestKey: events.EventField.fromPath('$.detail.object.key'),
          trigger: 'manifest',
        }),
      }),
    ],
  });
  new events.Rule(stack, 'OnDrift', {
    description: `mlp ${envName}: retrain ${dataset} when a drift alarm fires`,
    eventPattern: {
      source: ['aws.cloudwatch'],
      detailType: ['CloudWatch Alarm State Change'],
      detail: { alarmName: [{ prefix: driftAlarmPrefix(envName) }], state: { value: ['ALARM'] } },
    },
    targets: [
      new targets.SfnStateMachine(stateMachine, { input: events.RuleTargetInput.fromObject({ trigger: 'drift' }) }),
    ],
  });
  // Both rules' targets share the role the SfnStateMachine target creates on the state machine.
  acknowledge(stateMachine.node.findChild('EventsRole').node.findChild('DefaultPolicy'), INLINE_POLICY, START_ONLY);

  const schedulerRole = new iam.Role(stack, 'ScheduleRole', {
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
    description: `mlp ${envName}: starts scheduled retraining`,
  });
  stateMachine.grantStartExecution(schedulerRole);
  acknowledge(schedulerRole.node.findChild('DefaultPolicy'), INLINE_POLICY, START_ONLY);
  new scheduler.CfnSchedule(stack, 'Schedule', {
    description: `mlp ${envName}: scheduled retraining of ${dataset}`,
    scheduleExpression: props.schedule,
    flexibleTimeWindow: { mode: 'FLEXIBLE', maximumWindowInMinutes: 30 },
    target: {
      arn: stateMachine.stateMachineArn,
      roleArn: schedulerRole.roleArn,
      input: JSON.stringify({ trigger: 'schedule' }),
    },
  });
}
