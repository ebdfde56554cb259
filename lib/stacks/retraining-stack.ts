/**
 * Retraining: the Step Functions state machine that validates an extract, prepares the channels, trains
 * SageMaker's built-in XGBoost 1.7-1 (RUN_JOB), evaluates the candidate against the champion, registers it,
 * applies the promotion gate, waits for a human in prod, and deploys through a canary with rollback. Every
 * Task retries transient errors with jittered backoff and catches everything into notify-and-fail.
 * Triggers: a manifest landing (S3 → EventBridge), an EventBridge Scheduler cron, and the drift alarm.
 */
import { ArnFormat, CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import {
  driftAlarmPrefix,
  modelPackageGroupName,
  STACK_OUTPUTS,
  stateMachineName,
  trainingJobPrefix,
} from '../../contracts/resource-names';
import { APPROVAL_REJECTED, resultPath, STATE, STEP_HANDLERS } from '../../contracts/retraining-states';
import { curated, landing, models } from '../../contracts/s3-layout';
import type { EnvironmentConfig } from '../../config';
import { retrainingSettings } from '../../stepfunctions/retraining-settings';
import { PlatformFunction } from '../constructs/platform-function';
import { xgboostImageUri } from '../xgboost-image';

/** Regex SageMaker applies to the training log (CloudWatch shows tabs as #011). */
export const METRIC_DEFINITIONS = [
  { name: 'validation:auc', regex: '.*\\[[0-9]+\\].*#011validation-auc:(\\S+)' },
  { name: 'train:auc', regex: '.*\\[[0-9]+\\].*#011train-auc:(\\S+)' },
];

/** Properties of {@link RetrainingStack}. */
export interface RetrainingStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly vpc: ec2.IVpc;
  readonly buckets: { readonly landing: s3.IBucket; readonly curated: s3.IBucket; readonly models: s3.IBucket };
  /** Export names of the buckets' ARNs: IAM statements import them by name (readable in reviews). */
  readonly bucketArnExports: { readonly landing: string; readonly curated: string; readonly models: string };
  readonly keys: { readonly landing: kms.IKey; readonly models: kms.IKey; readonly logs: kms.IKey };
  readonly alertTopic: sns.ITopic;
  readonly scorer: { readonly function: lambda.IFunction; readonly aliasName: string; readonly alarmNames: string[] };
  /** The code version tagged onto training jobs. */
  readonly codeVersion: string;
}

/** The retraining pipeline of one environment. */
export class RetrainingStack extends Stack {
  readonly stateMachine: sfn.StateMachine;
  readonly steps: Readonly<Record<string, PlatformFunction>>;
  readonly trainingRole: iam.Role;
  /** The environment the pipeline was built for. */
  readonly config: EnvironmentConfig;

  constructor(scope: Construct, id: string, props: RetrainingStackProps) {
    super(scope, id, props);
    const { config, buckets, keys } = props;
    this.config = config;
    const r = config.retraining;
    const group = modelPackageGroupName(config.name, r.dataset);
    const settings = retrainingSettings(config, {
      landing: buckets.landing.bucketName,
      curated: buckets.curated.bucketName,
      models: buckets.models.bucketName,
    });
    const image = xgboostImageUri(config.region);

    const step = (
      name: string,
      handler: string,
      memoryMb: number,
      timeout: Duration,
      env: Record<string, string> = {},
    ) =>
      new PlatformFunction(this, name, {
        entry: 'stepfunctions/lambda-handlers.ts',
        handler,
        description: `mlp ${config.name}: retraining step ${name}`,
        vpc: props.vpc,
        memoryMb,
        reservedConcurrency: 2,
        timeout,
        environment: { RETRAINING_SETTINGS: this.toJsonString(settings), ...env },
        logRetentionDays: config.logRetentionDays,
        logsKey: keys.logs,
        retainLogs: config.retainData,
      });
    const steps = {
      validate: step('ValidateManifestStep', STEP_HANDLERS.validate, 1024, Duration.minutes(5)),
      prepare: step('PrepareStep', STEP_HANDLERS.prepare, 4096, Duration.minutes(15)),
      evaluate: step('EvaluateStep', STEP_HANDLERS.evaluate, 2048, Duration.minutes(10)),
      gate: step('GateStep', STEP_HANDLERS.gate, 256, Duration.seconds(30)),
      deployer: step('DeployerStep', STEP_HANDLERS.deployer, 512, Duration.minutes(5), {
        SCORER_FUNCTION_NAME: props.scorer.function.functionName,
        SCORER_ALIAS: props.scorer.aliasName,
        SCORER_ALARMS: JSON.stringify(props.scorer.alarmNames),
        CANARY_PERCENT: String(r.canary.percent),
      }),
      ...(r.requireApproval
        ? { approval: step('ApprovalStep', STEP_HANDLERS.approval, 256, Duration.seconds(30)) }
        : {}),
    };
    this.steps = steps;
    // Object access by explicit action and prefix: what each step reads and writes, nothing more.
    const objects = (bucket: keyof RetrainingStackProps['bucketArnExports'], prefix: string) =>
      `${Fn.importValue(props.bucketArnExports[bucket])}/${prefix}`;
    const allow = (principal: iam.IGrantable, sid: string, actions: string[], resources: string[]) =>
      principal.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ sid, actions, resources }));
    const read = ['s3:GetObject'];
    const write = ['s3:PutObject'];
    const decrypt = (principal: iam.IGrantable, ...keysToUse: kms.IKey[]) =>
      allow(
        principal,
        'DecryptObjects',
        ['kms:Decrypt'],
        keysToUse.map((k) => k.keyArn),
      );
    const encrypt = (principal: iam.IGrantable, ...keysToUse: kms.IKey[]) =>
      allow(
        principal,
        'EncryptObjects',
        ['kms:GenerateDataKey'],
        keysToUse.map((k) => k.keyArn),
      );
    if (steps.approval) {
      steps.approval.function.addEnvironment('ALERT_TOPIC_ARN', props.alertTopic.topicArn);
      allow(steps.approval.function, 'PublishApprovalRequests', ['sns:Publish'], [props.alertTopic.topicArn]);
      allow(
        steps.approval.function,
        'EncryptNotifications',
        ['kms:GenerateDataKey', 'kms:Decrypt'],
        [keys.logs.keyArn],
      );
    }
    const landingObjects = objects('landing', `${landing.datasetPrefix(r.dataset)}*`);
    const curatedObjects = objects('curated', `${curated.datasetPrefix(r.dataset)}*`);
    allow(steps.validate.function, 'ReadExtracts', read, [landingObjects]);
    allow(steps.prepare.function, 'ReadExtracts', read, [landingObjects]);
    allow(steps.prepare.function, 'WriteChannels', write, [curatedObjects]);
    allow(steps.evaluate.function, 'ReadTestSplit', read, [curatedObjects]);
    allow(steps.evaluate.function, 'ReadModels', read, [
      objects('models', `${models.datasetPrefix(r.dataset)}*`),
      objects('models', `${models.championPrefix(r.dataset)}*`),
    ]);
    allow(steps.evaluate.function, 'WriteEvaluations', write, [
      objects('models', `${models.evaluationsPrefix(r.dataset)}*`),
    ]);
    allow(steps.deployer.function, 'ReadCandidates', read, [
      objects('models', `${models.trainingPrefix(r.dataset)}*`),
      curatedObjects,
    ]);
    allow(steps.deployer.function, 'PublishChampion', write, [
      objects('models', `${models.championPrefix(r.dataset)}*`),
    ]);
    decrypt(steps.validate.function, keys.landing);
    decrypt(steps.prepare.function, keys.landing);
    encrypt(steps.prepare.function, keys.landing);
    decrypt(steps.evaluate.function, keys.landing, keys.models);
    encrypt(steps.evaluate.function, keys.models);
    decrypt(steps.deployer.function, keys.landing, keys.models);
    encrypt(steps.deployer.function, keys.models);
    // Listing: validate finds the latest manifest; evaluate checks for a champion pointer (without ListBucket S3
    // answers 403 rather than 404 for a missing key).
    const allowList = (
      principal: iam.IGrantable,
      bucket: keyof RetrainingStackProps['bucketArnExports'],
      prefix: string,
    ) =>
      principal.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ListDatasetObjects',
          actions: ['s3:ListBucket'],
          resources: [Fn.importValue(props.bucketArnExports[bucket])],
          conditions: { StringLike: { 's3:prefix': [prefix] } },
        }),
      );
    allowList(steps.validate.function, 'landing', `${landing.datasetPrefix(r.dataset)}*`);
    allowList(steps.evaluate.function, 'models', models.championPointerKey(r.dataset));
    steps.deployer.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ShiftScorerAlias',
        actions: [
          'lambda:GetAlias',
          'lambda:UpdateAlias',
          'lambda:GetFunctionConfiguration',
          'lambda:UpdateFunctionConfiguration',
          'lambda:PublishVersion',
        ],
        resources: [
          props.scorer.function.functionArn,
          `${props.scorer.function.functionArn}:${props.scorer.aliasName}`,
        ],
      }),
    );
    steps.deployer.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadScorerAlarms',
        actions: ['cloudwatch:DescribeAlarms'],
        resources: props.scorer.alarmNames.map((name) =>
          this.formatArn({
            service: 'cloudwatch',
            resource: 'alarm',
            resourceName: name,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ),
      }),
    );
    steps.deployer.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'RecordModelDecisions',
        actions: ['sagemaker:UpdateModelPackage'],
        resources: [this.formatArn({ service: 'sagemaker', resource: 'model-package', resourceName: `${group}/*` })],
      }),
    );

    // SageMaker's role for the training job: read the channels, write the artifact, nothing else.
    this.trainingRole = new iam.Role(this, 'TrainingRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: `mlp ${config.name}: SageMaker XGBoost training jobs of ${r.dataset}`,
    });
    allow(this.trainingRole, 'ReadChannels', read, [curatedObjects]);
    allowList(this.trainingRole, 'curated', `${curated.datasetPrefix(r.dataset)}*`);
    allow(this.trainingRole, 'WriteArtifacts', write, [objects('models', `${models.trainingPrefix(r.dataset)}*`)]);
    decrypt(this.trainingRole, keys.landing);
    encrypt(this.trainingRole, keys.models);
    this.trainingRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'TrainingLogsAndMetrics',
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        resources: [
          this.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: '/aws/sagemaker/TrainingJobs:*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    this.trainingRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'TrainingMetrics',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/TrainingJobs' } },
      }),
    );
    this.trainingRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'TrainingInVpc',
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:CreateNetworkInterfacePermission',
          'ec2:DeleteNetworkInterface',
          'ec2:DeleteNetworkInterfacePermission',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeVpcs',
          'ec2:DescribeDhcpOptions',
          'ec2:DescribeSubnets',
          'ec2:DescribeSecurityGroups',
        ],
        resources: ['*'],
      }),
    );
    allow(this.trainingRole, 'EncryptTrainingVolume', ['kms:CreateGrant'], [keys.models.keyArn]);
    const trainingSecurityGroup = new ec2.SecurityGroup(this, 'TrainingSecurityGroup', {
      vpc: props.vpc,
      description: 'SageMaker training: HTTPS to VPC endpoints only',
      allowAllOutbound: false,
    });
    trainingSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to VPC endpoints');
    const subnets = props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnetIds;

    // States.
    const lambdaRetry = {
      errors: [
        'Lambda.ServiceException',
        'Lambda.AWSLambdaException',
        'Lambda.SdkClientException',
        'Lambda.TooManyRequestsException',
      ],
      interval: Duration.seconds(2),
      maxAttempts: 4,
      backoffRate: 2,
      maxDelay: Duration.seconds(30),
      jitterStrategy: sfn.JitterType.FULL,
    };
    // A step's state times out with its function.
    // Without a payload the function receives the state's whole input (no Parameters field).
    const invoke = (id: string, fn: PlatformFunction, payload: sfn.TaskInput | undefined, resultPath: string) =>
      new tasks.LambdaInvoke(this, id, {
        stateName: id,
        lambdaFunction: fn.function,
        ...(payload ? { payload } : {}),
        payloadResponseOnly: true,
        resultPath,
        taskTimeout: sfn.Timeout.duration(fn.function.timeout!),
        retryOnServiceExceptions: false,
      }).addRetry(lambdaRetry);

    const failed = new sfn.Fail(this, STATE.failed, {
      stateName: STATE.failed,
      errorPath: resultPath('error', 'Error'),
      causePath: resultPath('error', 'Cause'),
    });
    const notifyFailure = new tasks.SnsPublish(this, STATE.notifyFailure, {
      stateName: STATE.notifyFailure,
      topic: props.alertTopic,
      subject: `mlp ${config.name}: retraining of ${r.dataset} failed`,
      message: sfn.TaskInput.fromObject({
        execution: sfn.JsonPath.executionId,
        error: sfn.JsonPath.stringAt(resultPath('error', 'Error')),
        cause: sfn.JsonPath.stringAt(resultPath('error', 'Cause')),
        note: 'The champion keeps serving.',
      }),
      resultPath: sfn.JsonPath.DISCARD,
    })
      .addRetry({
        ...lambdaRetry,
        errors: ['SNS.SdkClientException', 'SNS.InternalErrorException', 'SNS.ThrottledException'],
      })
      .addCatch(failed, { errors: ['States.ALL'], resultPath: '$.notifyError' })
      .next(failed);
    const catchAll = { errors: ['States.ALL'], resultPath: resultPath('error') };

    // The execution's input ({manifestKey?, trigger}) as it started: an S3 event's manifest, or the latest.
    const validate = invoke(STATE.validate, steps.validate, undefined, resultPath('validation'));
    const prepare = invoke(
      STATE.prepare,
      steps.prepare,
      sfn.TaskInput.fromObject({
        validation: sfn.JsonPath.objectAt(resultPath('validation')),
        executionName: sfn.JsonPath.executionName,
      }),
      resultPath('prepared'),
    );
    const train = new sfn.CustomState(this, STATE.train, {
      stateJson: {
        Type: 'Task',
        Resource: `arn:${this.partition}:states:::sagemaker:createTrainingJob.sync`,
        TimeoutSeconds: 4 * 3600,
        Parameters: {
          'TrainingJobName.$': resultPath('prepared', 'trainingJobName'),
          RoleArn: this.trainingRole.roleArn,
          AlgorithmSpecification: {
            TrainingImage: image,
            TrainingInputMode: 'File',
            MetricDefinitions: METRIC_DEFINITIONS.map((m) => ({ Name: m.name, Regex: m.regex })),
          },
          HyperParameters: r.hyperparameters,
          InputDataConfig: ['train', 'validation'].map((channel) => ({
            ChannelName: channel,
            ContentType: 'text/csv',
            CompressionType: 'None',
            DataSource: {
              S3DataSource: {
                S3DataType: 'S3Prefix',
                S3DataDistributionType: 'FullyReplicated',
                'S3Uri.$': `$.prepared.${channel}Uri`,
              },
            },
          })),
          OutputDataConfig: { 'S3OutputPath.$': resultPath('prepared', 'outputPath'), KmsKeyId: keys.models.keyArn },
          ResourceConfig: {
            InstanceCount: 1,
            InstanceType: config.instanceTypes.training,
            VolumeSizeInGB: 30,
            VolumeKmsKeyId: keys.models.keyArn,
          },
          StoppingCondition: { MaxRuntimeInSeconds: 3 * 3600 },
          VpcConfig: { Subnets: subnets, SecurityGroupIds: [trainingSecurityGroup.securityGroupId] },
          EnableNetworkIsolation: true,
          EnableInterContainerTrafficEncryption: true,
          Tags: [
            { Key: 'mlp:dataset', Value: r.dataset },
            { Key: 'mlp:dataset-version', 'Value.$': resultPath('prepared', 'datasetVersion') },
            { Key: 'mlp:code-version', Value: props.codeVersion },
          ],
        },
        ResultSelector: {
          'trainingJobName.$': '$.TrainingJobName',
          'trainingJobArn.$': '$.TrainingJobArn',
          'modelDataUrl.$': '$.ModelArtifacts.S3ModelArtifacts',
          'finalMetrics.$': '$.FinalMetricDataList',
        },
        ResultPath: resultPath('training'),
      },
    });
    train.addRetry({
      errors: ['SageMaker.AmazonSageMakerException', 'SageMaker.SdkClientException', 'ThrottlingException'],
      interval: Duration.seconds(30),
      maxAttempts: 3,
      backoffRate: 2,
      maxDelay: Duration.minutes(5),
      jitterStrategy: sfn.JitterType.FULL,
    });
    const evaluate = invoke(
      STATE.evaluate,
      steps.evaluate,
      sfn.TaskInput.fromObject({
        prepared: sfn.JsonPath.objectAt(resultPath('prepared')),
        training: sfn.JsonPath.objectAt(resultPath('training')),
      }),
      resultPath('evaluation'),
    );
    const register = new tasks.CallAwsService(this, STATE.register, {
      stateName: STATE.register,
      service: 'sagemaker',
      action: 'createModelPackage',
      iamResources: [this.formatArn({ service: 'sagemaker', resource: 'model-package', resourceName: `${group}/*` })],
      parameters: {
        ModelPackageGroupName: group,
        ModelPackageDescription: `mlp ${config.name} ${r.dataset}`,
        ModelApprovalStatus: 'PendingManualApproval',
        InferenceSpecification: {
          Containers: [{ Image: image, ModelDataUrl: sfn.JsonPath.stringAt(resultPath('training', 'modelDataUrl')) }],
          SupportedContentTypes: ['text/csv'],
          SupportedResponseMIMETypes: ['text/csv'],
        },
        ModelMetrics: {
          ModelQuality: {
            Statistics: {
              ContentType: 'application/json',
              S3Uri: sfn.JsonPath.stringAt(resultPath('evaluation', 'evaluationUri')),
            },
          },
        },
        CustomerMetadataProperties: {
          trainingJobName: sfn.JsonPath.stringAt(resultPath('training', 'trainingJobName')),
          trainingJobArn: sfn.JsonPath.stringAt(resultPath('training', 'trainingJobArn')),
          datasetVersion: sfn.JsonPath.stringAt(resultPath('validation', 'datasetVersion')),
          manifestUri: sfn.JsonPath.stringAt(resultPath('validation', 'manifestUri')),
          extractRunId: sfn.JsonPath.stringAt(resultPath('validation', 'runId')),
          policySha256: sfn.JsonPath.stringAt(resultPath('validation', 'policySha256')),
          kid: sfn.JsonPath.stringAt(resultPath('validation', 'kid')),
          agentVersion: sfn.JsonPath.stringAt(resultPath('validation', 'agentVersion')),
          featureSpecUri: sfn.JsonPath.stringAt(resultPath('prepared', 'featureSpecUri')),
          evaluationUri: sfn.JsonPath.stringAt(resultPath('evaluation', 'evaluationUri')),
          modelSha256: sfn.JsonPath.stringAt(resultPath('evaluation', 'modelSha256')),
          trigger: sfn.JsonPath.stringAt(resultPath('validation', 'trigger')),
          codeVersion: props.codeVersion,
        },
      },
      resultSelector: { modelPackageArn: sfn.JsonPath.stringAt('$.ModelPackageArn') },
      resultPath: resultPath('registration'),
      taskTimeout: sfn.Timeout.duration(Duration.minutes(2)),
    }).addRetry({ ...lambdaRetry, errors: ['SageMaker.SdkClientException', 'SageMaker.ThrottlingException'] });
    const gate = invoke(
      STATE.gate,
      steps.gate,
      sfn.TaskInput.fromObject({
        validation: sfn.JsonPath.objectAt(resultPath('validation')),
        evaluation: sfn.JsonPath.objectAt(resultPath('evaluation')),
      }),
      resultPath('gate'),
    );
    // Deploy, FinishDeploy and RecordRejection share the deployer function, which dispatches on `step`.
    const deployer = (name: string) => sfn.TaskInput.fromObject({ step: name, execution: sfn.JsonPath.objectAt('$') });
    const recordRejection = invoke(
      STATE.recordRejection,
      steps.deployer,
      deployer(STATE.recordRejection),
      resultPath('decision'),
    );
    recordRejection.next(new sfn.Succeed(this, STATE.notPromoted, { stateName: STATE.notPromoted }));
    const deploy = invoke(STATE.deploy, steps.deployer, deployer(STATE.deploy), resultPath('deployment'));
    const canary = new sfn.Wait(this, STATE.canary, {
      stateName: STATE.canary,
      time: sfn.WaitTime.duration(Duration.minutes(r.canary.minutes)),
    });
    const finishDeploy = invoke(
      STATE.finishDeploy,
      steps.deployer,
      deployer(STATE.finishDeploy),
      resultPath('deployed'),
    );

    const all = [validate, prepare, train, evaluate, register, gate, recordRejection, deploy, finishDeploy];
    for (const task of all) (task as sfn.TaskStateBase | sfn.CustomState).addCatch(notifyFailure, catchAll);
    let approvalChain: sfn.IChainable = deploy;
    if (steps.approval) {
      const approve = new tasks.LambdaInvoke(this, STATE.approve, {
        stateName: STATE.approve,
        lambdaFunction: steps.approval.function,
        integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload: sfn.TaskInput.fromObject({
          taskToken: sfn.JsonPath.taskToken,
          execution: sfn.JsonPath.executionId,
          modelPackageArn: sfn.JsonPath.stringAt(resultPath('registration', 'modelPackageArn')),
          evaluation: sfn.JsonPath.objectAt(resultPath('evaluation')),
        }),
        resultPath: resultPath('approval'),
        taskTimeout: sfn.Timeout.duration(Duration.days(7)),
      })
        .addRetry(lambdaRetry)
        .addCatch(recordRejection, { errors: [APPROVAL_REJECTED], resultPath: resultPath('approvalError') })
        .addCatch(notifyFailure, catchAll);
      approve.next(deploy);
      approvalChain = approve;
    }
    const definition = validate
      .next(prepare)
      .next(train)
      .next(evaluate)
      .next(register)
      .next(gate)
      .next(
        new sfn.Choice(this, STATE.promote, { stateName: STATE.promote })
          .when(sfn.Condition.booleanEquals(resultPath('gate', 'promote'), true), approvalChain)
          .otherwise(recordRejection),
      );
    deploy
      .next(canary)
      .next(finishDeploy)
      .next(new sfn.Succeed(this, STATE.promoted, { stateName: STATE.promoted }));

    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', {
      encryptionKey: keys.logs,
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: stateMachineName(config.name),
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      timeout: Duration.days(8),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    new CfnOutput(this, STACK_OUTPUTS.stateMachineArn.output, { value: this.stateMachine.stateMachineArn });
    const role = this.stateMachine.role;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RunTrainingJobs',
        actions: [
          'sagemaker:CreateTrainingJob',
          'sagemaker:DescribeTrainingJob',
          'sagemaker:StopTrainingJob',
          'sagemaker:AddTags',
        ],
        resources: [
          this.formatArn({
            service: 'sagemaker',
            resource: 'training-job',
            resourceName: `${trainingJobPrefix(config.name, r.dataset)}*`,
          }),
        ],
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
        resources: [keys.logs.keyArn],
      }),
    );

    new sagemaker.CfnModelPackageGroup(this, 'ModelPackageGroup', {
      modelPackageGroupName: group,
      modelPackageGroupDescription: `mlp ${config.name}: every ${r.dataset} candidate, approved or rejected`,
    });

    // Triggers.
    new events.Rule(this, 'OnManifest', {
      description: `mlp ${config.name}: retrain ${r.dataset} when an extract manifest lands`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [buckets.landing.bucketName] },
          object: { key: [{ wildcard: landing.manifestWildcard(r.dataset) }] },
        },
      },
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          input: events.RuleTargetInput.fromObject({
            manifestKey: events.EventField.fromPath('$.detail.object.key'),
            trigger: 'manifest',
          }),
        }),
      ],
    });
    new events.Rule(this, 'OnDrift', {
      description: `mlp ${config.name}: retrain ${r.dataset} when a drift alarm fires`,
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        detail: { alarmName: [{ prefix: driftAlarmPrefix(config.name) }], state: { value: ['ALARM'] } },
      },
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          input: events.RuleTargetInput.fromObject({ trigger: 'drift' }),
        }),
      ],
    });
    const schedulerRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: `mlp ${config.name}: starts scheduled retraining`,
    });
    this.stateMachine.grantStartExecution(schedulerRole);
    new scheduler.CfnSchedule(this, 'Schedule', {
      description: `mlp ${config.name}: scheduled retraining of ${r.dataset}`,
      scheduleExpression: r.schedule,
      flexibleTimeWindow: { mode: 'FLEXIBLE', maximumWindowInMinutes: 30 },
      target: {
        arn: this.stateMachine.stateMachineArn,
        roleArn: schedulerRole.roleArn,
        input: JSON.stringify({ trigger: 'schedule' }),
      },
    });
  }
}
