/**
 * Retraining: the Step Functions state machine that validates an extract, prepares the channels, trains
 * SageMaker's built-in XGBoost 1.7-1 (RUN_JOB), evaluates the candidate against the champion, registers it,
 * applies the promotion gate, waits for a human in prod, and deploys through a canary with rollback.
 * Its parts live in lib/retraining/: the steps and their grants, the training job's access, the flow of
 * states, the triggers; this stack puts them together with the state machine and the model package group.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, type CfnElement } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config';
import {
  athenaWorkGroupName,
  glueDatabaseName,
  modelPackageGroupName,
  STACK_OUTPUTS,
  stateMachineName,
  trainingJobPrefix,
} from '../../contracts/resource-names';
import { retrainingSettings } from '../../stepfunctions/retraining-settings';
import { acknowledgeGrants, INLINE_POLICY, wildcardFinding } from '../compliance/acknowledge';
import type { PlatformFunction } from '../constructs/platform-function';
import { ApproverPolicy } from '../retraining/approver-policy';
import { ObjectAccess, type PipelineBucket } from '../retraining/object-access';
import { RetrainingFlow } from '../retraining/retraining-flow';
import { createRetrainingSteps, type RetrainingSteps, type ScorerTarget } from '../retraining/retraining-steps';
import { addRetrainingTriggers } from '../retraining/retraining-triggers';
import { createTrainingAccess } from '../retraining/training-access';
import { createTrainingSetQuery } from '../retraining/training-set-query';

/** Properties of {@link RetrainingStack}. */
export interface RetrainingStackProps extends StackProps {
  readonly envName: string;
  /** What is retrained, how, and when a candidate may replace the champion. */
  readonly retraining: EnvironmentConfig['retraining'];
  readonly training: {
    /** SageMaker's built-in XGBoost image of the region. */
    readonly image: string;
    readonly instanceType: string;
  };
  readonly logs: { readonly retentionDays: number; readonly retain: boolean };
  readonly vpc: ec2.IVpc;
  readonly buckets: Readonly<Record<Exclude<PipelineBucket, 'capture'>, s3.IBucket>>;
  /** Export names of the buckets' ARNs: IAM statements import them by name (readable in reviews). */
  readonly bucketArnExports: Readonly<Record<Exclude<PipelineBucket, 'capture'>, string>>;
  readonly keys: { readonly landing: kms.IKey; readonly models: kms.IKey; readonly logs: kms.IKey };
  readonly alertTopic: sns.ITopic;
  readonly scorer: ScorerTarget;
  /** The code version tagged onto training jobs. */
  readonly codeVersion: string;
}

/** The retraining pipeline of one environment. */
export class RetrainingStack extends Stack {
  readonly stateMachine: sfn.StateMachine;
  readonly steps: RetrainingSteps;
  readonly trainingRole: iam.Role;

  constructor(scope: Construct, id: string, props: RetrainingStackProps) {
    super(scope, id, props);
    const { envName, retraining: r, buckets, keys } = props;
    const group = modelPackageGroupName(envName, r.dataset);
    const modelPackageVersions = this.formatArn({
      service: 'sagemaker',
      resource: 'model-package',
      resourceName: `${group}/*`,
    });
    // The curated bucket shares the landing key: both hold customer-derived (anonymised) rows.
    const objects = new ObjectAccess({
      landing: { arnExport: props.bucketArnExports.landing, key: keys.landing },
      curated: { arnExport: props.bucketArnExports.curated, key: keys.landing },
      models: { arnExport: props.bucketArnExports.models, key: keys.models },
      // The audit bucket is encrypted with the audit key (the logs key here).
      audit: { arnExport: props.bucketArnExports.audit, key: keys.logs, keyOnlyViaBucket: true },
    });
    this.steps = createRetrainingSteps(this, {
      settings: retrainingSettings(
        { name: envName, retraining: r },
        {
          landing: buckets.landing.bucketName,
          curated: buckets.curated.bucketName,
          models: buckets.models.bucketName,
          audit: buckets.audit.bucketName,
        },
      ),
      vpc: props.vpc,
      logs: { key: keys.logs, retentionDays: props.logs.retentionDays, retain: props.logs.retain },
      objects,
      scorer: props.scorer,
      canaryPercent: r.canary.percent,
      ...(r.requireApproval ? { approvalTopic: { topic: props.alertTopic, key: keys.logs } } : {}),
      modelPackageVersions,
    });
    const training = createTrainingAccess(this, {
      envName,
      dataset: r.dataset,
      vpc: props.vpc,
      objects,
      modelsKey: keys.models,
    });
    this.trainingRole = training.role;

    const flow = new RetrainingFlow(this, 'Flow', {
      ...(r.trainingSet.engine === 'athena'
        ? { athena: { workGroup: athenaWorkGroupName(envName), database: glueDatabaseName(envName) } }
        : {}),
      envName,
      dataset: r.dataset,
      steps: this.steps,
      training: {
        access: training,
        image: props.training.image,
        instanceType: props.training.instanceType,
        hyperparameters: r.hyperparameters,
        modelsKey: keys.models,
      },
      alertTopic: props.alertTopic,
      modelPackageGroup: group,
      canaryMinutes: r.canary.minutes,
      codeVersion: props.codeVersion,
    });
    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', {
      encryptionKey: keys.logs,
      retention: props.logs.retentionDays as logs.RetentionDays,
      removalPolicy: props.logs.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: stateMachineName(envName),
      definitionBody: sfn.DefinitionBody.fromChainable(flow),
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      timeout: Duration.days(8),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    new CfnOutput(this, STACK_OUTPUTS.stateMachineArn.output, { value: this.stateMachine.stateMachineArn });
    if (r.requireApproval) {
      const approvers = new ApproverPolicy(this, 'Approvers', {
        envName,
        stateMachine: this.stateMachine,
        auditBucketArnExport: props.bucketArnExports.audit,
        auditKey: keys.logs,
        modelPackageVersions,
      });
      new CfnOutput(this, 'ApproverPolicyArn', {
        value: approvers.policy.managedPolicyArn,
        description: 'attach to the roles of the people who approve promotions (mlp approve VERSION --env)',
      });
    }
    this.grantStateMachine(props, group, modelPackageVersions);
    if (r.trainingSet.engine === 'athena') {
      createTrainingSetQuery(this, {
        envName,
        dataset: r.dataset,
        curatedBucketName: buckets.curated.bucketName,
        curatedBucketArnExport: props.bucketArnExports.curated,
        curatedKey: keys.landing,
        objects,
        caller: this.stateMachine,
        prepare: this.steps.prepare.function,
      });
    }

    new sagemaker.CfnModelPackageGroup(this, 'ModelPackageGroup', {
      modelPackageGroupName: group,
      modelPackageGroupDescription: `mlp ${envName}: every ${r.dataset} candidate, approved or rejected`,
    });
    addRetrainingTriggers(this, {
      envName,
      dataset: r.dataset,
      stateMachine: this.stateMachine,
      landingBucket: buckets.landing,
      schedule: r.schedule,
    });
  }

  /**
   * What the state machine's role needs beyond the grants its states add (invoke the steps, publish failures):
   * run and follow the training jobs, pass them their role, register models, encrypt notifications.
   */
  private grantStateMachine(props: RetrainingStackProps, group: string, modelPackageVersions: string): void {
    const role = this.stateMachine.role;
    const trainingJobs = this.formatArn({
      service: 'sagemaker',
      resource: 'training-job',
      resourceName: `${trainingJobPrefix(props.envName, props.retraining.dataset)}*`,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RunTrainingJobs',
        actions: [
          'sagemaker:CreateTrainingJob',
          'sagemaker:DescribeTrainingJob',
          'sagemaker:StopTrainingJob',
          'sagemaker:AddTags',
        ],
        resources: [trainingJobs],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'FollowTrainingJobs',
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          this.formatArn({
            service: 'events',
            resource: 'rule',
            resourceName: 'StepFunctionsGetEventsForSageMakerTrainingJobsRule',
          }),
        ],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PassTrainingRole',
        actions: ['iam:PassRole'],
        resources: [this.trainingRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RegisterIntoGroup',
        actions: ['sagemaker:CreateModelPackage'],
        resources: [this.formatArn({ service: 'sagemaker', resource: 'model-package-group', resourceName: group })],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptNotifications',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [props.keys.logs.keyArn],
      }),
    );

    acknowledgeGrants(
      role,
      [wildcardFinding(modelPackageVersions), wildcardFinding(trainingJobs)],
      `Training jobs and model packages are created per execution under the environment and dataset name: ` +
        `training-job/${trainingJobPrefix(props.envName, props.retraining.dataset)} and ` +
        `model-package/${group}/.`,
    );
    acknowledgeGrants(
      role,
      Object.values(this.steps).map((step: PlatformFunction) => {
        const logicalId = this.getLogicalId(step.function.node.defaultChild as CfnElement);
        return `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`;
      }),
      "CDK grants lambda:InvokeFunction on the step functions and their versions (`:*`): only the platform's own " +
        'retraining functions are named.',
    );
    acknowledgeGrants(
      role,
      ['AwsSolutions-IAM5[Resource::*]'],
      'xray:PutTraceSegments and the other X-Ray writes, logs:CreateLogDelivery and the other log-delivery ' +
        'actions of the state machine: they have no resource-level permissions.',
    );
    acknowledgeGrants(
      role,
      INLINE_POLICY,
      'CDK-generated policy of the state machine role: invoke the step functions, run the training job, register ' +
        'the model, publish failures. Inline keeps it deleted with the role.',
    );
  }
}
