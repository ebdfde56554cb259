/**
 * Every compliance finding the platform accepts, each acknowledged on the one resource it concerns with the
 * reason a security reviewer needs. Nothing is acknowledged at stack or stage level.
 */
import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { modelPackageGroupName, trainingJobPrefix } from '../../contracts/resource-names';
import { curated, landing, models } from '../../contracts/s3-layout';
import type { PlatformStage } from '../platform-stage';

/** Acknowledges `ruleIds` on `construct` (and its children) with one reason. */
export function acknowledge(construct: IConstruct, ruleIds: readonly string[], reason: string): void {
  for (const id of ruleIds) Validations.of(construct).acknowledge({ id, reason });
}

const REPLICATION = ['NIST.800.53.R5-S3BucketReplicationEnabled', 'PCI.DSS.321-S3BucketReplicationEnabled'];
const INLINE_POLICY = ['NIST.800.53.R5-IAMNoInlinePolicy', 'PCI.DSS.321-IAMNoInlinePolicy'];

/** Records the platform's acknowledged findings on a stage's resources. */
export function acknowledgeFindings(stage: PlatformStage): void {
  const region = stage.region ?? 'the configured region';
  const buckets = [
    stage.data.landingBucket,
    stage.data.curatedBucket,
    stage.data.modelsBucket,
    stage.data.captureBucket,
    stage.data.accessLogsBucket,
    stage.audit.auditBucket,
  ];
  for (const bucket of buckets) {
    acknowledge(
      bucket,
      REPLICATION,
      `Kept in ${region} only: customer-derived data must not leave the bank's chosen region (data residency). ` +
        'Durability comes from S3 (11 nines), versioning and RETAIN outside dev; cross-region replication ' +
        'needs a second-region key and bucket and is left to the bank disaster-recovery design.',
    );
  }

  const flowLogPolicy = stage.network.vpc.node
    .findChild('FlowLog')
    .node.findChild('IAMRole')
    .node.findChild('DefaultPolicy');
  acknowledge(
    flowLogPolicy,
    INLINE_POLICY,
    'CDK-generated policy of the VPC flow-log delivery role: logs:CreateLogStream/DescribeLogStreams/PutLogEvents ' +
      'on the one flow-log group only. Inline keeps it deleted with the role; no other principal uses it.',
  );
  const trailLogsPolicy = stage.audit.trail.node.findChild('LogsRole').node.findChild('DefaultPolicy');
  acknowledge(
    trailLogsPolicy,
    INLINE_POLICY,
    'CDK-generated policy of the CloudTrail delivery role: logs:CreateLogStream/PutLogEvents on the one trail log ' +
      'group only. Inline keeps it deleted with the role; no other principal uses it.',
  );

  acknowledgeServing(stage);
  acknowledgeRetraining(stage);

  const exportName = stage.data.landingBucketArnExport;
  for (const dataset of stage.onPremAccess.datasets) {
    acknowledge(
      stage.onPremAccess.agentPolicy,
      [`AwsSolutions-IAM5[Resource::${exportName}/${landing.datasetPrefix(dataset)}*]`],
      `The agent writes one object per extract part under landing/${dataset}/<run-id>/ with keys it generates at ` +
        'run time; the wildcard is confined to that dataset prefix of the landing bucket, for s3:PutObject and ' +
        's3:GetObject (read-back on resume) only.',
    );
  }
}

/** Findings on the scorer and its private API. */
function acknowledgeServing(stage: PlatformStage): void {
  const { serving } = stage;
  const fn = serving.scorer.function;
  const policy = fn.role!.node.findChild('DefaultPolicy');
  const stageResource = serving.api.deploymentStage;
  acknowledgeFunctionBasics(fn, {
    policy:
      'CDK-generated policy of the scorer role: X-Ray writes, s3:GetObject on champion/ and kms:Decrypt via S3 on ' +
      'the models key. Inline keeps it deleted with the role; no other principal uses it.',
    invocation:
      'The scorer is only invoked synchronously by API Gateway: failures return to the caller, nothing is queued ' +
      'asynchronously, so a dead-letter queue would never receive a message.',
  });
  acknowledge(
    policy,
    [`AwsSolutions-IAM5[Resource::${stage.data.modelsBucketArnExport}/${models.championRoot}*]`],
    's3:GetObject only, on the champion/ prefix of the models bucket: the model, feature spec and baseline the ' +
      'live scorer serves; deployments replace the objects, so their names are not known at synth time.',
  );
  acknowledge(
    serving.api.node.findChild('CloudWatchRole'),
    [
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    ],
    'The account-level role API Gateway itself assumes to write execution logs; AWS maintains its policy and ' +
      'it is required for the execution logging the compliance packs ask for.',
  );
  acknowledge(
    serving.api.root.node.findChild('score').node.findChild('POST'),
    ['AwsSolutions-COG4'],
    'Callers are bank services, not end users: the method uses IAM (SigV4) authorization, which the resource ' +
      'policy further limits to this account through the execute-api VPC endpoint.',
  );
  acknowledge(
    stageResource,
    ['AwsSolutions-APIG3', 'NIST.800.53.R5-APIGWAssociatedWithWAF', 'PCI.DSS.321-APIGWAssociatedWithWAF'],
    'Private API: reachable only through the execute-api interface endpoint from the VPC and the bank network, ' +
      'with IAM authorization and body validation; there is no internet-facing surface for a WAF to protect.',
  );
  acknowledge(
    stageResource,
    ['NIST.800.53.R5-APIGWCacheEnabledAndEncrypted', 'PCI.DSS.321-APIGWCacheEnabledAndEncrypted'],
    'Responses are per-request predictions for customer records: caching them would serve stale or another ' +
      "caller's scores and keep customer-derived data in a cache, so the stage cache stays off.",
  );
  acknowledge(
    stageResource,
    ['NIST.800.53.R5-APIGWSSLEnabled', 'PCI.DSS.321-APIGWSSLEnabled'],
    'Client certificates authenticate API Gateway to HTTP backends; this API integrates with Lambda through the ' +
      'AWS API (TLS, IAM), so there is no HTTP backend to present a certificate to.',
  );
}

/**
 * The Lambda basics every platform function shares: AWS's execution policies, X-Ray on "*", the runtime pin;
 * plus the two reasons that depend on the function: its inline policy and how it is invoked (no DLQ).
 */
function acknowledgeFunctionBasics(fn: IConstruct, reasons: { policy: string; invocation: string }): void {
  const role = fn.node.findChild('ServiceRole');
  const policy = role.node.findChild('DefaultPolicy');
  acknowledge(
    role,
    [
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
    ],
    'AWS-maintained minimal Lambda execution policies: CloudWatch Logs writes and the ENI management a function ' +
      'in the isolated subnets needs; they grant no data access.',
  );
  acknowledge(
    policy,
    ['AwsSolutions-IAM5[Resource::*]'],
    'Only xray:PutTraceSegments and xray:PutTelemetryRecords are granted on "*": X-Ray has no resource-level ' +
      'permissions for them.',
  );
  acknowledge(policy, INLINE_POLICY, reasons.policy);
  acknowledge(
    fn,
    ['AwsSolutions-L1'],
    'Pinned to nodejs22.x, the runtime the platform is built, tested and benchmarked for (esbuild target ' +
      'node22); moving to a newer runtime is a deliberate, tested change rather than a silent one.',
  );
  acknowledge(fn, ['NIST.800.53.R5-LambdaDLQ'], reasons.invocation);
}

function acknowledgeRetraining(stage: PlatformStage): void {
  const { retraining, data } = stage;
  const config = stage.retraining.config;
  const dataset = config.retraining.dataset;
  const arn = (service: string, resource: string) =>
    `arn:aws:${service}:${config.region}:${config.account}:${resource}`;
  const landingObjects = `${data.landingBucketArnExport}/${landing.datasetPrefix(dataset)}*`;
  const curatedObjects = `${data.curatedBucketArnExport}/${curated.datasetPrefix(dataset)}*`;
  const modelObjects = (prefix: string) => `${data.modelsBucketArnExport}/${prefix}*`;
  const prefixes: Record<string, string[]> = {
    ValidateManifestStep: [landingObjects],
    PrepareStep: [landingObjects, curatedObjects],
    EvaluateStep: [
      curatedObjects,
      modelObjects(models.datasetPrefix(dataset)),
      modelObjects(models.championPrefix(dataset)),
      modelObjects(models.evaluationsPrefix(dataset)),
    ],
    GateStep: [],
    DeployerStep: [
      curatedObjects,
      modelObjects(models.championPrefix(dataset)),
      modelObjects(models.trainingPrefix(dataset)),
    ],
    ApprovalStep: [],
  };
  for (const [name, step] of Object.entries(retraining.steps)) {
    const fn = step.function;
    acknowledgeFunctionBasics(fn, {
      policy:
        `CDK-generated policy of the retraining ${name} role, scoped to the objects and keys that step uses. ` +
        'Inline keeps it deleted with the role; no other principal uses it.',
      invocation:
        'Invoked synchronously by the retraining state machine only: a failure returns to the state machine, ' +
        'which retries, then notifies and fails the execution; nothing is queued asynchronously.',
    });
    const stepPrefixes = prefixes[step.node.id] ?? [];
    if (stepPrefixes.length > 0) {
      acknowledge(
        fn.role!.node.findChild('DefaultPolicy'),
        stepPrefixes.map((p) => `AwsSolutions-IAM5[Resource::${p}]`),
        `s3:GetObject/s3:PutObject under ${stepPrefixes.map((p) => p.slice(p.indexOf('/') + 1, -1)).join(', ')} ` +
          `only, the ${dataset} prefixes this step reads or writes: the objects are named by run id, dataset ` +
          'version and training job, which only exist at run time.',
      );
    }
  }
  acknowledge(
    retraining.steps.deployer.function.role!.node.findChild('DefaultPolicy'),
    [
      `AwsSolutions-IAM5[Resource::${arn('sagemaker', `model-package/${modelPackageGroupName(config.name, dataset)}/*`)}]`,
    ],
    `sagemaker:UpdateModelPackage on model-package/${modelPackageGroupName(config.name, dataset)}/, the versions ` +
      'of the one model package group of this dataset: versions are numbered by SageMaker at registration.',
  );
  const smPolicy = retraining.stateMachine.role.node.findChild('DefaultPolicy');
  acknowledge(
    smPolicy,
    Object.values(retraining.steps).map((step) => {
      const logicalId = Stack.of(step).getLogicalId(step.function.node.defaultChild as CfnElement);
      return `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`;
    }),
    "CDK grants lambda:InvokeFunction on the step functions and their versions (`:*`): only the platform's own " +
      'retraining functions are named.',
  );
  acknowledge(
    smPolicy,
    [
      `AwsSolutions-IAM5[Resource::${arn('sagemaker', `model-package/${modelPackageGroupName(config.name, dataset)}/*`)}]`,
      `AwsSolutions-IAM5[Resource::${arn('sagemaker', `training-job/${trainingJobPrefix(config.name, dataset)}*`)}]`,
    ],
    `Training jobs and model packages are created per execution under the environment and dataset name: ` +
      `training-job/${trainingJobPrefix(config.name, dataset)} and ` +
      `model-package/${modelPackageGroupName(config.name, dataset)}/.`,
  );
  acknowledge(
    smPolicy,
    ['AwsSolutions-IAM5[Resource::*]'],
    'xray:PutTraceSegments and the other X-Ray writes, logs:CreateLogDelivery and the other log-delivery ' +
      'actions of the state machine: they have no resource-level permissions.',
  );
  acknowledge(
    smPolicy,
    INLINE_POLICY,
    'CDK-generated policy of the state machine role: invoke the step functions, run the training job, register ' +
      'the model, publish failures. Inline keeps it deleted with the role.',
  );
  for (const role of [
    retraining.stateMachine.node.findChild('EventsRole'),
    retraining.node.findChild('ScheduleRole'),
  ]) {
    acknowledge(
      role.node.findChild('DefaultPolicy'),
      INLINE_POLICY,
      'states:StartExecution on the retraining state machine only; inline keeps it deleted with the role.',
    );
  }
  const trainingPolicy = retraining.trainingRole.node.findChild('DefaultPolicy');
  acknowledge(
    trainingPolicy,
    [
      'AwsSolutions-IAM5[Resource::*]',
      `AwsSolutions-IAM5[Resource::${arn('logs', 'log-group:/aws/sagemaker/TrainingJobs:*')}]`,
      `AwsSolutions-IAM5[Resource::${data.curatedBucketArnExport}/${curated.datasetPrefix(dataset)}*]`,
      `AwsSolutions-IAM5[Resource::${data.modelsBucketArnExport}/${models.trainingPrefix(dataset)}*]`,
    ],
    'SageMaker training in the VPC: ec2:CreateNetworkInterface and the other ENI actions, and ' +
      'cloudwatch:PutMetricData (namespace-conditioned), have no resource scoping; logs go to the ' +
      'log-group:/aws/sagemaker/TrainingJobs: (a stream per job); data access is the channels under ' +
      `${curated.datasetPrefix(dataset)} and the output prefix ${models.trainingPrefix(dataset)}.`,
  );
  acknowledge(
    trainingPolicy,
    INLINE_POLICY,
    'Policy of the SageMaker training role, scoped as above. Inline keeps it deleted with the role.',
  );
}
