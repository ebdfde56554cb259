/**
 * The retraining pipeline's Lambda steps (stepfunctions/lambda-handlers.ts), each with exactly the access its
 * handler uses: the objects it reads and writes, the keys of those objects, and for the deployer and the
 * approval step the resources whose names they also receive in their environment.
 */
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { STEP_HANDLERS } from '../../contracts/retraining-states';
import { audit, curated, landing, models } from '../../contracts/s3-layout';
import type { RetrainingSettings } from '../../stepfunctions/retraining-settings';
import { acknowledgeGrants, wildcardFinding } from '../compliance/acknowledge';
import { PlatformFunction, type PlatformFunctionProps } from '../constructs/platform-function';
import { NATIVE_MODULES } from '../lambda-bundling';
import type { ObjectAccess } from './object-access';
import { grantSideTableMerge } from './side-table-access';

/** The live scorer the deployer shifts and watches. */
export interface ScorerTarget {
  readonly function: lambda.IFunction;
  readonly aliasName: string;
  /** Function-wide scorer alarms: any in ALARM rolls a canary back. */
  readonly alarmNames: readonly string[];
  /** Namespace of the scorer's metrics, where the candidate's own Requests and ServerErrors are read. */
  readonly metricsNamespace: string;
  /** Largest share of its own requests a candidate may answer with a 5xx, in percent. */
  readonly maxCanaryErrorPercent: number;
}

/** Properties of {@link createRetrainingSteps}. */
export interface RetrainingStepsProps {
  readonly settings: RetrainingSettings;
  readonly vpc: ec2.IVpc;
  readonly logs: { readonly key: kms.IKey; readonly retentionDays: number; readonly retain: boolean };
  readonly objects: ObjectAccess;
  readonly scorer: ScorerTarget;
  /** Percentage of traffic a candidate takes during its canary. */
  readonly canaryPercent: number;
  /** Where approval requests go (prod); without it there is no approval step. */
  readonly approvalTopic?: { readonly topic: sns.ITopic; readonly key: kms.IKey };
  /** ARN pattern of the dataset's model package versions (`…:model-package/<group>/*`). */
  readonly modelPackageVersions: string;
}

/** The step functions, by the role they play in the state machine. */
export interface RetrainingSteps {
  readonly validate: PlatformFunction;
  readonly prepare: PlatformFunction;
  readonly evaluate: PlatformFunction;
  readonly gate: PlatformFunction;
  /** Deploy, FinishDeploy, RollBackDeploy and RecordRejection. */
  readonly deployer: PlatformFunction;
  readonly approval?: PlatformFunction;
}

/** Why each prefix is granted whole: its objects are named by values that only exist at run time. */
const WHY = {
  extracts: "extract parts and manifests are keyed by the agent's run id.",
  channels:
    'the channels, test split and feature spec are keyed by the dataset version, the curated table by key id and run.',
  tables: "the curated table's files are keyed by the pseudonymisation key id and the agent's run id.",
  models: 'artifacts and evaluations are keyed by the training job, the champion files by the model version.',
  evaluations: 'evaluations are keyed by the training job.',
  candidates:
    "the candidate's artifact and drift baseline are keyed by its training job, its feature spec by the dataset version.",
  champion: 'the champion files are keyed by the model version being published.',
  cards: 'model cards are keyed by the model version SageMaker numbers at registration.',
  trail: "the trail's entries are numbered as they are appended.",
} as const;

/** Creates the steps in `stack`, with their grants. */
export function createRetrainingSteps(stack: Stack, props: RetrainingStepsProps): RetrainingSteps {
  const { settings, objects } = props;
  const { dataset } = settings;
  // Only Prepare writes the reason-code table (into the feature spec): the other steps' 4 KB of environment
  // does not carry it.
  const { explanations: _, ...withoutReasons } = settings;
  const step = (
    name: string,
    handler: string,
    memoryMb: number,
    timeout: Duration,
    extra: Partial<Pick<PlatformFunctionProps, 'nodeModules' | 'ephemeralStorageMb' | 'reservedConcurrency'>> = {},
  ) =>
    new PlatformFunction(stack, name, {
      entry: 'stepfunctions/lambda-handlers.ts',
      handler,
      description: `mlp ${settings.envName}: retraining step ${name}`,
      vpc: props.vpc,
      memoryMb,
      timeout,
      ...extra,
      reservedConcurrency: extra.reservedConcurrency ?? 2,
      environment: {
        RETRAINING_SETTINGS: stack.toJsonString(handler === STEP_HANDLERS.prepare ? settings : withoutReasons),
      },
      logRetentionDays: props.logs.retentionDays,
      logsKey: props.logs.key,
      retainLogs: props.logs.retain,
      compliance: {
        inlinePolicy:
          `CDK-generated policy of the retraining ${name} role, scoped to the objects and keys that step uses. ` +
          'Inline keeps it deleted with the role; no other principal uses it.',
        invocation:
          'Invoked synchronously by the retraining state machine only: a failure returns to the state machine, ' +
          'which retries, then notifies and fails the execution; nothing is queued asynchronously.',
      },
    });
  const steps = {
    validate: step('ValidateManifestStep', STEP_HANDLERS.validate, 1024, Duration.minutes(5)),
    // Prepare runs DuckDB: its arm64 build installed beside the bundle, spilling to 10 GB of /tmp beyond the
    // 60% of memory it may use.
    // One Prepare at a time: each merge rewrites the table's log, so two at once could lose one. A second
    // execution's Prepare is throttled and retried by the state machine (Lambda.TooManyRequestsException).
    prepare: step('PrepareStep', STEP_HANDLERS.prepare, 4096, Duration.minutes(15), {
      nodeModules: [NATIVE_MODULES.duckdb],
      ephemeralStorageMb: 10_240,
      reservedConcurrency: 1,
    }),
    // With the fairness gate, Evaluate merges the attributes dataset's extracts with DuckDB (as the quality job
    // merges outcomes), one at a time: each merge rewrites that table's log.
    evaluate: step(
      'EvaluateStep',
      STEP_HANDLERS.evaluate,
      2048,
      Duration.minutes(10),
      settings.fairness
        ? { nodeModules: [NATIVE_MODULES.duckdb], ephemeralStorageMb: 10_240, reservedConcurrency: 1 }
        : {},
    ),
    gate: step('GateStep', STEP_HANDLERS.gate, 256, Duration.seconds(30)),
    deployer: step('DeployerStep', STEP_HANDLERS.deployer, 512, Duration.minutes(5)),
    ...(props.approvalTopic
      ? { approval: step('ApprovalStep', STEP_HANDLERS.approval, 256, Duration.seconds(30)) }
      : {}),
  };

  const extracts = { bucket: 'landing', prefix: landing.datasetPrefix(dataset) } as const;
  const channels = { bucket: 'curated', prefix: curated.datasetPrefix(dataset) } as const;
  const champion = { bucket: 'models', prefix: models.championPrefix(dataset) } as const;
  const { validate, prepare, evaluate, deployer } = steps;
  objects.read(validate.function, { sid: 'ReadExtracts', objects: [extracts], why: WHY.extracts });
  objects.read(prepare.function, { sid: 'ReadExtracts', objects: [extracts], why: WHY.extracts });
  objects.write(prepare.function, { sid: 'WriteChannels', objects: [channels], why: WHY.channels });
  // Prepare merges into the curated table (reading its log and files); Validate reads the log for the latest merge.
  const tables = { bucket: 'curated', prefix: curated.tablesPrefix(dataset) } as const;
  objects.read(prepare.function, { sid: 'ReadCuratedTable', objects: [tables], why: WHY.tables });
  objects.read(validate.function, { sid: 'ReadCuratedTable', objects: [tables], why: WHY.tables });
  objects.read(evaluate.function, { sid: 'ReadTestSplit', objects: [channels], why: WHY.channels });
  objects.read(evaluate.function, {
    sid: 'ReadModels',
    objects: [{ bucket: 'models', prefix: models.datasetPrefix(dataset) }, champion],
    why: WHY.models,
  });
  objects.write(evaluate.function, {
    sid: 'WriteEvaluations',
    objects: [{ bucket: 'models', prefix: models.evaluationsPrefix(dataset) }],
    why: WHY.evaluations,
  });
  // The fairness gate's protected attributes: their restricted dataset is read by Evaluate alone.
  if (settings.fairness) {
    grantSideTableMerge(objects, evaluate.function, {
      side: settings.fairness.dataset,
      training: dataset,
      sids: {
        readTable: 'ReadAttributesTable',
        listTable: 'ListAttributesTable',
        mergeTable: 'MergeAttributes',
        readExtracts: 'ReadAttributeExtracts',
        listExtracts: 'ListAttributeExtracts',
      },
    });
  }
  objects.read(deployer.function, {
    sid: 'ReadCandidates',
    objects: [
      { bucket: 'models', prefix: models.trainingPrefix(dataset) },
      { bucket: 'models', prefix: models.evaluationsPrefix(dataset) },
      channels,
    ],
    why: WHY.candidates,
  });
  objects.write(deployer.function, { sid: 'PublishChampion', objects: [champion], why: WHY.champion });
  // The end of every version's story writes its model card (stepfunctions/governance/model-card-writer.ts).
  objects.write(deployer.function, {
    sid: 'WriteModelCards',
    objects: [{ bucket: 'models', prefix: models.cardsPrefix(dataset) }],
    why: WHY.cards,
  });
  // Deploy keeps the pointer it replaces, for RollBackDeploy to restore.
  objects.read(deployer.function, {
    sid: 'ReadChampionPointer',
    objects: [{ bucket: 'models', prefix: models.championPointerKey(dataset) }],
    why: "the prefix is the pointer's own key (the helper ends every prefix with a wildcard), and no other object's key starts with it.",
  });
  // A rolled-back first promotion leaves no champion pointer behind.
  objects.delete(deployer.function, {
    sid: 'RetractChampionPointer',
    bucket: 'models',
    key: models.championPointerKey(dataset),
  });
  // Validate finds the latest manifest (landed or merged), Prepare the table's log and pointer; Evaluate, Deploy and RollBackDeploy check for a champion pointer.
  objects.list(validate.function, 'landing', `${landing.datasetPrefix(dataset)}*`);
  objects.list(validate.function, 'curated', `${curated.tablesPrefix(dataset)}*`, 'ListCuratedTable');
  objects.list(prepare.function, 'curated', `${curated.tablesPrefix(dataset)}*`, 'ListCuratedTable');
  // Prepare lists the landed manifests when an increment does not follow on from the table (see missingBefore).
  objects.list(prepare.function, 'landing', `${landing.datasetPrefix(dataset)}*`);
  objects.list(evaluate.function, 'models', models.championPointerKey(dataset));
  objects.list(deployer.function, 'models', models.championPointerKey(dataset));

  // The approval trail: the gate, the approval request and the deployer record decisions there. They read the
  // trail to chain onto it and may only create entries, never replace one (S3 Object Lock in prod besides).
  const trail = { bucket: 'audit', prefix: audit.approvalTrailPrefix(settings.envName) } as const;
  const recorders = [steps.gate, deployer, ...(steps.approval ? [steps.approval] : [])];
  for (const recorder of recorders) {
    objects.read(recorder.function, { sid: 'ReadApprovalTrail', objects: [trail], why: WHY.trail });
    objects.createOnly(recorder.function, { sid: 'AppendApprovalTrail', objects: [trail], why: WHY.trail });
    objects.list(recorder.function, 'audit', `${trail.prefix}*`, 'ListApprovalTrail');
  }

  bindScorer(deployer, props.scorer, props.canaryPercent);
  deployer.function.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'RecordModelDecisions',
      // DescribeModelPackage: the model card is built from the version as registered.
      actions: ['sagemaker:DescribeModelPackage', 'sagemaker:UpdateModelPackage'],
      resources: [props.modelPackageVersions],
    }),
  );
  acknowledgeGrants(
    deployer.function,
    [wildcardFinding(props.modelPackageVersions)],
    `sagemaker:DescribeModelPackage and UpdateModelPackage on model-package/${settings.modelPackageGroup}/, the versions of the one ` +
      'model package group of this dataset: versions are numbered by SageMaker at registration.',
  );
  if (steps.approval && props.approvalTopic) bindApprovalTopic(steps.approval, props.approvalTopic);
  return steps;
}

/** Tells the deployer which scorer alias to shift and which alarms to watch, and lets it do both. */
function bindScorer(deployer: PlatformFunction, scorer: ScorerTarget, canaryPercent: number): void {
  const fn = deployer.function;
  fn.addEnvironment('SCORER_FUNCTION_NAME', scorer.function.functionName);
  fn.addEnvironment('SCORER_ALIAS', scorer.aliasName);
  fn.addEnvironment('SCORER_ALARMS', JSON.stringify(scorer.alarmNames));
  fn.addEnvironment('CANARY_PERCENT', String(canaryPercent));
  fn.addEnvironment('SCORER_METRICS_NAMESPACE', scorer.metricsNamespace);
  fn.addEnvironment('CANARY_MAX_ERROR_PERCENT', String(scorer.maxCanaryErrorPercent));
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'ShiftScorerAlias',
      actions: [
        'lambda:GetAlias',
        'lambda:UpdateAlias',
        // waitUntilFunctionUpdatedV2 polls GetFunction, and takes AccessDenied for "not yet".
        'lambda:GetFunction',
        'lambda:GetFunctionConfiguration',
        'lambda:UpdateFunctionConfiguration',
        'lambda:PublishVersion',
      ],
      resources: [scorer.function.functionArn, `${scorer.function.functionArn}:${scorer.aliasName}`],
    }),
  );
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'ReadScorerAlarms',
      actions: ['cloudwatch:DescribeAlarms'],
      resources: scorer.alarmNames.map((name) =>
        Stack.of(deployer).formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: name,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ),
    }),
  );
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'ReadCanaryTraffic',
      actions: ['cloudwatch:GetMetricData'],
      resources: ['*'],
    }),
  );
  acknowledgeGrants(
    fn,
    [wildcardFinding('*')],
    "cloudwatch:GetMetricData only, which has no resource-level permissions (IAM's service reference lists no " +
      "resource type for it): the deployer reads the canary version's own Requests and ServerErrors with it.",
  );
}

/** Tells the approval step where to publish approval requests, and lets it publish there. */
function bindApprovalTopic(approval: PlatformFunction, target: { topic: sns.ITopic; key: kms.IKey }): void {
  const fn = approval.function;
  fn.addEnvironment('ALERT_TOPIC_ARN', target.topic.topicArn);
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'PublishApprovalRequests',
      actions: ['sns:Publish'],
      resources: [target.topic.topicArn],
    }),
  );
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'EncryptNotifications',
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: [target.key.keyArn],
    }),
  );
}
