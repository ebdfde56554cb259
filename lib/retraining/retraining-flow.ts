/**
 * The retraining state machine's states, as one fragment the stack wraps in a state machine (and the local
 * runner executes as synthesized). Every Task retries transient errors with jittered backoff and catches
 * everything into NotifyFailure → RetrainingFailed.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { APPROVAL_REJECTED, resultPath, STATE } from '../../contracts/retraining-states';
import type { PlatformFunction } from '../constructs/platform-function';
import type { DeployerEvent } from '../../stepfunctions/retraining-steps';
import type { RetrainingSteps } from './retraining-steps';
import type { TrainingAccess } from './training-access';

/** Properties of {@link RetrainingFlow}. */
export interface RetrainingFlowProps {
  readonly envName: string;
  readonly dataset: string;
  readonly steps: RetrainingSteps;
  readonly training: {
    readonly access: TrainingAccess;
    /** SageMaker's built-in XGBoost image of the region. */
    readonly image: string;
    readonly instanceType: string;
    readonly hyperparameters: Readonly<Record<string, string>>;
    /** Encrypts the artifact and the training volume. */
    readonly modelsKey: kms.IKey;
  };
  /** Receives failure notices. */
  readonly alertTopic: sns.ITopic;
  /** The dataset's SageMaker model package group, which Register adds a version to. */
  readonly modelPackageGroup: string;
  /** How long a deployed candidate serves its canary share before FinishDeploy. */
  readonly canaryMinutes: number;
  /** The code version tagged onto training jobs and registered models. */
  readonly codeVersion: string;
  /**
   * Where Athena selects the training set (engine `athena`): MergeExtract → QueryTrainingSet → Prepare replaces
   * Prepare alone.
   */
  readonly athena?: { readonly workGroup: string; readonly database: string };
}

/**
 * ValidateManifest → Prepare (with Athena: MergeExtract → QueryTrainingSet → Prepare) → Train (SageMaker XGBoost, RUN_JOB) → Evaluate → Register → Gate → Promote? →
 * [Approve] → Deploy → CanaryWindow → FinishDeploy → Promoted; a candidate the gate or a human declines goes
 * RecordRejection → NotPromoted; a Deploy or FinishDeploy failure (the canary judged, or a write refused) goes
 * RollBackDeploy → NotifyFailure → RetrainingFailed.
 *
 * Input (from the manifest rule, the schedule, the drift rule or `mlp retrain`):
 * ```json
 * { "manifestKey": "landing/<dataset>/<run-id>/_manifest.json", "trigger": "manifest" }
 * ```
 * `manifestKey` is optional (without it ValidateManifest takes the dataset's latest manifest); `trigger` is
 * `manifest`, `schedule`, `drift` or `manual`.
 *
 * Output: the input with each step's result beside it (see `RESULT` in contracts/retraining-states.ts):
 * ```json
 * { "trigger": "manifest", "validation": {…}, "prepared": {…}, "training": {…}, "evaluation": {…},
 *   "registration": { "modelPackageArn": "…" }, "gate": { "promote": true, … }, "approval": {…},
 *   "deployment": {…}, "deployed": {…} }
 * ```
 * NotPromoted ends with `decision` instead of `deployment`/`deployed` (and `approvalError` when a human
 * declined); RetrainingFailed fails the execution with the `error` (`Error`, `Cause`) of the failed step
 * (FinishDeploy's, once RollBackDeploy has put `rollback` beside it; RollbackFailed if the rollback failed).
 */
export class RetrainingFlow extends sfn.StateMachineFragment {
  readonly startState: sfn.State;
  readonly endStates: sfn.INextable[] = [];

  constructor(scope: Construct, id: string, props: RetrainingFlowProps) {
    super(scope, id);
    const { steps } = props;
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
      subject: `mlp ${props.envName}: retraining of ${props.dataset} failed`,
      message: sfn.TaskInput.fromObject({
        execution: sfn.JsonPath.executionId,
        error: sfn.JsonPath.stringAt(resultPath('error', 'Error')),
        cause: sfn.JsonPath.stringAt(resultPath('error', 'Cause')),
        note: 'The champion keeps serving, unless the error is RollbackFailed: its cause names what may disagree.',
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
    const prepareInput = {
      validation: sfn.JsonPath.objectAt(resultPath('validation')),
      executionName: sfn.JsonPath.executionName,
    };
    const prepare = invoke(
      STATE.prepare,
      steps.prepare,
      sfn.TaskInput.fromObject(
        props.athena ? { ...prepareInput, merged: sfn.JsonPath.objectAt(resultPath('merged')) } : prepareInput,
      ),
      resultPath('prepared'),
    );
    // With Athena, Prepare's function first merges and plans (MergeExtract), Athena selects the rows.
    const mergeExtract = props.athena
      ? invoke(
          STATE.mergeExtract,
          steps.prepare,
          sfn.TaskInput.fromObject({ ...prepareInput, stage: 'merge' }),
          resultPath('merged'),
        )
      : undefined;
    // QueryTrainingSet catches into its own redaction before NotifyFailure.
    const queryTrainingSet = props.athena ? this.queryTrainingSetState(props.athena, notifyFailure) : undefined;
    const selection = mergeExtract && queryTrainingSet ? [mergeExtract, queryTrainingSet] : [];
    const train = this.trainState(props);
    const evaluate = invoke(
      STATE.evaluate,
      steps.evaluate,
      sfn.TaskInput.fromObject({
        prepared: sfn.JsonPath.objectAt(resultPath('prepared')),
        training: sfn.JsonPath.objectAt(resultPath('training')),
      }),
      resultPath('evaluation'),
    );
    const register = this.registerState(props, lambdaRetry);
    const gate = invoke(
      STATE.gate,
      steps.gate,
      sfn.TaskInput.fromObject({
        prepared: sfn.JsonPath.objectAt(resultPath('prepared')),
        evaluation: sfn.JsonPath.objectAt(resultPath('evaluation')),
        registration: sfn.JsonPath.objectAt(resultPath('registration')),
      }),
      resultPath('gate'),
    );
    // Deploy, FinishDeploy, RollBackDeploy and RecordRejection share the deployer function, which dispatches on
    // `step` and receives the whole execution state.
    const deployerState = (name: DeployerEvent['step'], result: Parameters<typeof resultPath>[0]) =>
      invoke(
        name,
        steps.deployer,
        sfn.TaskInput.fromObject({ step: name, execution: sfn.JsonPath.objectAt('$') }),
        resultPath(result),
      );
    const recordRejection = deployerState(STATE.recordRejection, 'decision');
    recordRejection.next(new sfn.Succeed(this, STATE.notPromoted, { stateName: STATE.notPromoted }));
    const deploy = deployerState(STATE.deploy, 'deployment');
    const canary = new sfn.Wait(this, STATE.canary, {
      stateName: STATE.canary,
      time: sfn.WaitTime.duration(Duration.minutes(props.canaryMinutes)),
    });
    const finishDeploy = deployerState(STATE.finishDeploy, 'deployed');

    // Whatever Deploy or FinishDeploy got to, RollBackDeploy brings alias, pointer and registry back to the
    // champion. Its writes are idempotent, so a failed rollback (a throttled call, say) is tried again.
    const rollBackDeploy = deployerState(STATE.rollBackDeploy, 'rollback').addRetry({
      ...lambdaRetry,
      errors: ['RollbackFailed'],
      interval: Duration.seconds(5),
      maxAttempts: 3,
    });
    deploy.addCatch(rollBackDeploy, catchAll);
    finishDeploy.addCatch(rollBackDeploy, catchAll);
    rollBackDeploy.next(notifyFailure);

    const all = [
      validate,
      ...(mergeExtract ? [mergeExtract] : []),
      prepare,
      train,
      evaluate,
      register,
      gate,
      recordRejection,
      rollBackDeploy,
    ];
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
    let selected: sfn.INextable = validate;
    for (const state of selection) selected = selected.next(state);
    selected
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
    this.startState = validate;
  }

  /** Train: SageMaker's createTrainingJob.sync on the prepared channels, in the VPC, network-isolated. */
  private trainState(props: RetrainingFlowProps): sfn.CustomState {
    const { training } = props;
    const train = new sfn.CustomState(this, STATE.train, {
      stateJson: {
        Type: 'Task',
        Resource: `arn:${Stack.of(this).partition}:states:::sagemaker:createTrainingJob.sync`,
        TimeoutSeconds: 4 * 3600,
        Parameters: {
          'TrainingJobName.$': resultPath('prepared', 'trainingJobName'),
          RoleArn: training.access.role.roleArn,
          AlgorithmSpecification: {
            TrainingImage: training.image,
            TrainingInputMode: 'File',
            // No MetricDefinitions: a built-in algorithm defines its own (`train:auc`, `validation:auc`, … for
            // each eval_metric), and SageMaker refuses definitions for it.
          },
          HyperParameters: training.hyperparameters,
          InputDataConfig: ['train', 'validation'].map((channel) => ({
            ChannelName: channel,
            ContentType: 'text/csv',
            CompressionType: 'None',
            DataSource: {
              S3DataSource: {
                S3DataType: 'S3Prefix',
                S3DataDistributionType: 'FullyReplicated',
                'S3Uri.$': resultPath('prepared', `${channel}Uri`),
              },
            },
          })),
          OutputDataConfig: {
            'S3OutputPath.$': resultPath('prepared', 'outputPath'),
            KmsKeyId: training.modelsKey.keyArn,
          },
          ResourceConfig: {
            InstanceCount: 1,
            InstanceType: training.instanceType,
            VolumeSizeInGB: 30,
            VolumeKmsKeyId: training.modelsKey.keyArn,
          },
          StoppingCondition: { MaxRuntimeInSeconds: 3 * 3600 },
          VpcConfig: {
            Subnets: training.access.subnetIds,
            SecurityGroupIds: [training.access.securityGroup.securityGroupId],
          },
          EnableNetworkIsolation: true,
          EnableInterContainerTrafficEncryption: true,
          Tags: [
            { Key: 'mlp:dataset', Value: props.dataset },
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
    return train;
  }

  /**
   * QueryTrainingSet: Athena's startQueryExecution.sync runs MergeExtract's UNLOAD in the workgroup, which holds
   * the result location and its encryption (enforced). Only a refused start is retried, under MergeExtract's
   * idempotency token, so a retried start that Athena had in fact accepted names the same query instead of a
   * second one into the prefix UNLOAD needs empty. A failure goes to NotifyFailure with its error name and a
   * fixed cause: Athena's reason can quote the values of rows it could not read.
   */
  private queryTrainingSetState(
    athena: NonNullable<RetrainingFlowProps['athena']>,
    notifyFailure: sfn.IChainable,
  ): sfn.CustomState {
    const query = new sfn.CustomState(this, STATE.queryTrainingSet, {
      stateJson: {
        Type: 'Task',
        Resource: `arn:${Stack.of(this).partition}:states:::athena:startQueryExecution.sync`,
        TimeoutSeconds: 2 * 3600,
        Parameters: {
          'QueryString.$': resultPath('merged', 'queryString'),
          'ClientRequestToken.$': resultPath('merged', 'clientRequestToken'),
          WorkGroup: athena.workGroup,
          QueryExecutionContext: { Catalog: 'AwsDataCatalog', Database: athena.database },
        },
        ResultSelector: {
          'queryExecutionId.$': '$.QueryExecution.QueryExecutionId',
          'state.$': '$.QueryExecution.Status.State',
          'dataScannedInBytes.$': '$.QueryExecution.Statistics.DataScannedInBytes',
        },
        ResultPath: resultPath('trainingSetQuery'),
      },
    });
    query.addRetry({
      errors: ['Athena.TooManyRequestsException', 'Athena.InternalServerException'],
      interval: Duration.seconds(10),
      maxAttempts: 3,
      backoffRate: 2,
      maxDelay: Duration.minutes(2),
      jitterStrategy: sfn.JitterType.FULL,
    });
    const redact = new sfn.Pass(this, STATE.queryFailed, {
      stateName: STATE.queryFailed,
      parameters: {
        Error: sfn.JsonPath.stringAt(resultPath('error', 'Error')),
        Cause: sfn.JsonPath.format(
          `Athena did not select the training set into {}: its reason is in the query history of workgroup ` +
            `${athena.workGroup}, not here, as it may quote row values`,
          sfn.JsonPath.stringAt(resultPath('merged', 'unloadUri')),
        ),
      },
      resultPath: resultPath('error'),
    });
    query.addCatch(redact.next(notifyFailure), { errors: ['States.ALL'], resultPath: resultPath('error') });
    return query;
  }

  /** Register: a new version in the dataset's model package group, pending approval, with its lineage. */
  private registerState(props: RetrainingFlowProps, retry: sfn.RetryProps): sfn.TaskStateBase {
    const group = props.modelPackageGroup;
    const { image } = props.training;
    return new tasks.CallAwsService(this, STATE.register, {
      stateName: STATE.register,
      service: 'sagemaker',
      action: 'createModelPackage',
      iamResources: [
        Stack.of(this).formatArn({ service: 'sagemaker', resource: 'model-package', resourceName: `${group}/*` }),
      ],
      parameters: {
        ModelPackageGroupName: group,
        ModelPackageDescription: `mlp ${props.envName} ${props.dataset}`,
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
          datasetVersion: sfn.JsonPath.stringAt(resultPath('prepared', 'datasetVersion')),
          trainingSetUri: sfn.JsonPath.stringAt(resultPath('prepared', 'trainingSetUri')),
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
    }).addRetry({ ...retry, errors: ['SageMaker.SdkClientException', 'SageMaker.ThrottlingException'] });
  }
}
