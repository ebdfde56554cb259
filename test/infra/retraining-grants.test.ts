/**
 * Every grant of the Retraining stack, statement by statement: who may do what, on which resource, under which
 * condition. The expected table is the review: a grant added, widened or dropped fails here until it is written
 * down. References render readably: `landing-bucket/…` (an imported bucket ARN), `key:models`, `scorer`, and so on.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { athenaEnvironments, synthesizePlatform } from '../support/platform';

jest.setTimeout(120_000);

const { stages } = synthesizePlatform(['dev']);
const template = Template.fromStack(stages.dev.retraining);
const athena = Template.fromStack(synthesizePlatform(['dev'], athenaEnvironments()).stages.dev.retraining);
const ACCOUNT = stages.dev.retraining.account;

/** A CloudFormation reference or value as a short readable string. */
function render(value: unknown): string {
  if (typeof value === 'string') return value.replace(`:${ACCOUNT}:`, ':ACCOUNT:');
  if (Array.isArray(value)) return value.map(render).join(' | ');
  const v = value as Record<string, unknown>;
  if ('Fn::Join' in v) return (v['Fn::Join'] as [string, unknown[]])[1].map(render).join('');
  if ('Fn::ImportValue' in v)
    return `${/(landing|curated|models|audit)-bucket-arn$/.exec(String(v['Fn::ImportValue']))?.[1]}-bucket`;
  if ('Fn::GetStackOutput' in v) {
    const name = (v['Fn::GetStackOutput'] as { OutputName: string }).OutputName;
    const key = /GetAtt(Landing|Models|Audit)Key/.exec(name)?.[1];
    if (key) return `key:${key.toLowerCase()}`;
    if (/ScorerFunction/.test(name)) return 'scorer';
    if (/ScorerErrorRate/.test(name)) return 'alarm:error-rate';
    if (/ScorerLatency/.test(name)) return 'alarm:latency';
    if (/Notifications/.test(name)) return 'alert-topic';
    return `output:${name}`;
  }
  if ('Fn::GetAtt' in v) return `${(v['Fn::GetAtt'] as string[])[0].replace(/[0-9A-F]{8}$/, '')}.Arn`;
  if ('Ref' in v) return String(v.Ref).replace(/[0-9A-F]{8}$/, '');
  return JSON.stringify(value);
}

interface Grant {
  readonly sid: string;
  readonly actions: string;
  readonly resources: string;
  readonly condition?: unknown;
}

/** Grants in a stable order: the order of statements in a policy means nothing to IAM. */
function sortGrants(grants: readonly Grant[]): Grant[] {
  const key = (g: Grant) => `${g.sid}|${g.actions}|${g.resources}`;
  return [...grants].sort((a, b) => key(a).localeCompare(key(b)));
}

/** Each role's grants, sorted. */
function sortedByRole(byRole: Record<string, Grant[]>): Record<string, Grant[]> {
  return Object.fromEntries(Object.entries(byRole).map(([role, grants]) => [role, sortGrants(grants)]));
}

/** The statements of each role's policy in the stack, by role. */
function grantsByRole(stack = template): Record<string, Grant[]> {
  const byRole: Record<string, Grant[]> = {};
  for (const policy of Object.values(stack.findResources('AWS::IAM::Policy'))) {
    const properties = policy.Properties as {
      Roles: { Ref: string }[];
      PolicyDocument: { Statement: Record<string, unknown>[] };
    };
    const role = properties.Roles.map((r) => render(r)).join(',');
    byRole[role] = properties.PolicyDocument.Statement.map((s) => {
      expect(s.Effect).toBe('Allow');
      const actions = [s.Action].flat() as string[];
      const resources = [s.Resource].flat().map(render).sort();
      return {
        sid: (s.Sid as string | undefined) ?? '-',
        actions: [...actions].sort().join(' '),
        resources: resources.join(' | '),
        ...(s.Condition ? { condition: s.Condition } : {}),
      };
    });
  }
  return byRole;
}

const XRAY: Grant = { sid: '-', actions: 'xray:PutTelemetryRecords xray:PutTraceSegments', resources: '*' };

/** Evaluate and the deployer both ask whether a champion pointer exists, with a listing of its own key. */
/** The approval trail: read to chain onto it, listed, and created into only (never replaced: If-None-Match). */
const APPROVAL_TRAIL: Grant[] = [
  { sid: 'ReadApprovalTrail', actions: 's3:GetObject', resources: 'audit-bucket/approvals/dev/*' },
  {
    sid: 'AppendApprovalTrail',
    actions: 's3:PutObject',
    resources: 'audit-bucket/approvals/dev/*',
    condition: { Null: { 's3:if-none-match': 'false' } },
  },
  {
    sid: 'ListApprovalTrail',
    actions: 's3:ListBucket',
    resources: 'audit-bucket',
    condition: { StringLike: { 's3:prefix': ['approvals/dev/*'] } },
  },
  // The audit key also protects CloudTrail's logs: usable only through S3, for the audit bucket's objects.
  ...(['read', 'write'] as const).map((direction) => ({
    sid: direction === 'read' ? 'DecryptObjectsOfAudit' : 'EncryptObjectsOfAudit',
    actions: direction === 'read' ? 'kms:Decrypt' : 'kms:GenerateDataKey',
    resources: 'key:audit',
    condition: {
      StringEquals: {
        'kms:EncryptionContext:aws:s3:arn': { 'Fn::ImportValue': 'mlp-dev-audit-bucket-arn' },
        'kms:ViaService': 's3.eu-west-2.amazonaws.com',
      },
    },
  })),
];
const LIST_CHAMPION_POINTER = {
  sid: 'ListDatasetObjects',
  actions: 's3:ListBucket',
  resources: 'models-bucket',
  condition: { StringLike: { 's3:prefix': ['champion/loans/champion.json'] } },
};

/** Validate, Prepare and (with Athena) the state machine list the curated table's files. */
const LIST_CURATED_TABLE = {
  sid: 'ListCuratedTable',
  actions: 's3:ListBucket',
  resources: 'curated-bucket',
  condition: { StringLike: { 's3:prefix': ['loans/table/*'] } },
};

test('each role of the Retraining stack has exactly the grants written here', () => {
  const scorerAndAlias = 'scorer | scorer:live';
  expect(sortedByRole(grantsByRole())).toEqual(
    sortedByRole({
      ValidateManifestStepFunctionServiceRole: [
        XRAY,
        { sid: 'ReadExtracts', actions: 's3:GetObject', resources: 'landing-bucket/landing/loans/*' },
        { sid: 'DecryptObjects', actions: 'kms:Decrypt', resources: 'key:landing' },
        {
          sid: 'ListDatasetObjects',
          actions: 's3:ListBucket',
          resources: 'landing-bucket',
          condition: { StringLike: { 's3:prefix': ['landing/loans/*'] } },
        },
        LIST_CURATED_TABLE,
        { sid: 'ReadCuratedTable', actions: 's3:GetObject', resources: 'curated-bucket/loans/table/*' },
      ],
      PrepareStepFunctionServiceRole: [
        XRAY,
        { sid: 'ReadExtracts', actions: 's3:GetObject', resources: 'landing-bucket/landing/loans/*' },
        {
          sid: 'ListDatasetObjects',
          actions: 's3:ListBucket',
          resources: 'landing-bucket',
          condition: { StringLike: { 's3:prefix': ['landing/loans/*'] } },
        },
        { sid: 'WriteChannels', actions: 's3:PutObject', resources: 'curated-bucket/loans/*' },
        LIST_CURATED_TABLE,
        { sid: 'ReadCuratedTable', actions: 's3:GetObject', resources: 'curated-bucket/loans/table/*' },
        { sid: 'DecryptObjects', actions: 'kms:Decrypt', resources: 'key:landing' },
        { sid: 'EncryptObjects', actions: 'kms:GenerateDataKey', resources: 'key:landing' },
      ],
      EvaluateStepFunctionServiceRole: [
        XRAY,
        { sid: 'ReadTestSplit', actions: 's3:GetObject', resources: 'curated-bucket/loans/*' },
        {
          sid: 'ReadModels',
          actions: 's3:GetObject',
          resources: 'models-bucket/champion/loans/* | models-bucket/loans/*',
        },
        { sid: 'WriteEvaluations', actions: 's3:PutObject', resources: 'models-bucket/loans/evaluations/*' },
        { sid: 'DecryptObjects', actions: 'kms:Decrypt', resources: 'key:landing | key:models' },
        // The models' key, and the curated bucket's for the attributes table it merges.
        { sid: 'EncryptObjects', actions: 'kms:GenerateDataKey', resources: 'key:landing | key:models' },
        LIST_CHAMPION_POINTER,
        // The fairness gate's protected attributes: the restricted dataset's extracts, merged into its own
        // table; of the training table only the pointer and logs (ReadTestSplit covers them already).
        {
          sid: 'ReadAttributeExtracts',
          actions: 's3:GetObject',
          resources: 'landing-bucket/landing/loan_attributes/*',
        },
        {
          sid: 'ListAttributeExtracts',
          actions: 's3:ListBucket',
          resources: 'landing-bucket',
          condition: { StringLike: { 's3:prefix': ['landing/loan_attributes/*'] } },
        },
        { sid: 'ReadAttributesTable', actions: 's3:GetObject', resources: 'curated-bucket/loan_attributes/table/*' },
        { sid: 'MergeAttributes', actions: 's3:PutObject', resources: 'curated-bucket/loan_attributes/table/*' },
        {
          sid: 'ListAttributesTable',
          actions: 's3:ListBucket',
          resources: 'curated-bucket',
          condition: { StringLike: { 's3:prefix': ['loan_attributes/table/*'] } },
        },
        {
          sid: 'ReadTrainingTableLog',
          actions: 's3:GetObject',
          resources: 'curated-bucket/loans/table/*/_log.json* | curated-bucket/loans/table/current.json*',
        },
        { ...LIST_CURATED_TABLE, sid: 'ListTrainingTable' },
      ],
      GateStepFunctionServiceRole: [XRAY, ...APPROVAL_TRAIL],
      DeployerStepFunctionServiceRole: [
        XRAY,
        ...APPROVAL_TRAIL,
        {
          sid: 'ReadCandidates',
          actions: 's3:GetObject',
          resources: 'curated-bucket/loans/* | models-bucket/loans/evaluations/* | models-bucket/loans/training/*',
        },
        { sid: 'PublishChampion', actions: 's3:PutObject', resources: 'models-bucket/champion/loans/*' },
        // The model card at the end of every version's story.
        { sid: 'WriteModelCards', actions: 's3:PutObject', resources: 'models-bucket/loans/cards/*' },
        { sid: 'DecryptObjects', actions: 'kms:Decrypt', resources: 'key:landing | key:models' },
        { sid: 'EncryptObjects', actions: 'kms:GenerateDataKey', resources: 'key:models' },
        {
          sid: 'ShiftScorerAlias',
          actions:
            'lambda:GetAlias lambda:GetFunction lambda:GetFunctionConfiguration lambda:PublishVersion lambda:UpdateAlias lambda:UpdateFunctionConfiguration',
          resources: scorerAndAlias,
        },
        {
          sid: 'ReadCanaryTraffic',
          actions: 'cloudwatch:GetMetricData',
          resources: '*',
        },
        LIST_CHAMPION_POINTER,
        {
          sid: 'ReadChampionPointer',
          actions: 's3:GetObject',
          resources: 'models-bucket/champion/loans/champion.json*',
        },
        {
          sid: 'RetractChampionPointer',
          actions: 's3:DeleteObject',
          resources: 'models-bucket/champion/loans/champion.json',
        },
        {
          sid: 'ReadScorerAlarms',
          actions: 'cloudwatch:DescribeAlarms',
          resources:
            'arn:aws:cloudwatch:eu-west-2:ACCOUNT:alarm:alarm:error-rate | arn:aws:cloudwatch:eu-west-2:ACCOUNT:alarm:alarm:latency',
        },
        {
          sid: 'RecordModelDecisions',
          actions: 'sagemaker:DescribeModelPackage sagemaker:UpdateModelPackage',
          resources: 'arn:aws:sagemaker:eu-west-2:ACCOUNT:model-package/mlp-dev-loans/*',
        },
      ],
      TrainingRole: [
        { sid: 'ReadChannels', actions: 's3:GetObject', resources: 'curated-bucket/loans/*' },
        {
          sid: 'ListDatasetObjects',
          actions: 's3:ListBucket',
          resources: 'curated-bucket',
          condition: { StringLike: { 's3:prefix': ['loans/*'] } },
        },
        { sid: 'WriteArtifacts', actions: 's3:PutObject', resources: 'models-bucket/loans/training/*' },
        { sid: 'DecryptObjects', actions: 'kms:Decrypt', resources: 'key:landing' },
        { sid: 'EncryptObjects', actions: 'kms:GenerateDataKey', resources: 'key:models' },
        {
          sid: 'TrainingLogsAndMetrics',
          actions: 'logs:CreateLogGroup logs:CreateLogStream logs:DescribeLogStreams logs:PutLogEvents',
          resources: 'arn:aws:logs:eu-west-2:ACCOUNT:log-group:/aws/sagemaker/TrainingJobs:*',
        },
        {
          sid: 'TrainingMetrics',
          actions: 'cloudwatch:PutMetricData',
          resources: '*',
          condition: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/TrainingJobs' } },
        },
        {
          sid: 'TrainingInVpc',
          actions:
            'ec2:CreateNetworkInterface ec2:CreateNetworkInterfacePermission ec2:DeleteNetworkInterface ' +
            'ec2:DeleteNetworkInterfacePermission ec2:DescribeDhcpOptions ec2:DescribeNetworkInterfaces ' +
            'ec2:DescribeSecurityGroups ec2:DescribeSubnets ec2:DescribeVpcs',
          resources: '*',
        },
        { sid: 'EncryptArtifact', actions: 'kms:Encrypt', resources: 'key:models' },
        { sid: 'EncryptTrainingVolume', actions: 'kms:CreateGrant', resources: 'key:models' },
      ],
      StateMachineRole: [
        {
          sid: '-',
          actions: 'lambda:InvokeFunction',
          resources: [
            'DeployerStepFunction.Arn',
            'DeployerStepFunction.Arn:*',
            'EvaluateStepFunction.Arn',
            'EvaluateStepFunction.Arn:*',
            'GateStepFunction.Arn',
            'GateStepFunction.Arn:*',
            'PrepareStepFunction.Arn',
            'PrepareStepFunction.Arn:*',
            'ValidateManifestStepFunction.Arn',
            'ValidateManifestStepFunction.Arn:*',
          ].join(' | '),
        },
        {
          sid: '-',
          actions: 'sagemaker:createModelPackage',
          resources: 'arn:aws:sagemaker:eu-west-2:ACCOUNT:model-package/mlp-dev-loans/*',
        },
        { sid: '-', actions: 'sns:Publish', resources: 'alert-topic' },
        {
          sid: '-',
          actions:
            'logs:CreateLogDelivery logs:DeleteLogDelivery logs:DescribeLogGroups logs:DescribeResourcePolicies ' +
            'logs:GetLogDelivery logs:ListLogDeliveries logs:PutResourcePolicy logs:UpdateLogDelivery ' +
            'xray:GetSamplingRules xray:GetSamplingTargets xray:PutTelemetryRecords xray:PutTraceSegments',
          resources: '*',
        },
        {
          sid: 'RunTrainingJobs',
          actions:
            'sagemaker:AddTags sagemaker:CreateTrainingJob sagemaker:DescribeTrainingJob sagemaker:StopTrainingJob',
          resources: 'arn:aws:sagemaker:eu-west-2:ACCOUNT:training-job/mlp-dev-loans-*',
        },
        {
          sid: 'FollowTrainingJobs',
          actions: 'events:DescribeRule events:PutRule events:PutTargets',
          resources: 'arn:aws:events:eu-west-2:ACCOUNT:rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule',
        },
        {
          sid: 'PassTrainingRole',
          actions: 'iam:PassRole',
          resources: 'TrainingRole.Arn',
          condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
        },
        {
          sid: 'RegisterIntoGroup',
          actions: 'sagemaker:CreateModelPackage',
          resources: 'arn:aws:sagemaker:eu-west-2:ACCOUNT:model-package-group/mlp-dev-loans',
        },
        { sid: 'EncryptNotifications', actions: 'kms:Decrypt kms:GenerateDataKey', resources: 'key:audit' },
      ],
      StateMachineEventsRole: [{ sid: '-', actions: 'states:StartExecution', resources: 'StateMachine' }],
      ScheduleRole: [{ sid: '-', actions: 'states:StartExecution', resources: 'StateMachine' }],
    }),
  );
});

test('the Athena engine adds exactly these grants: the workgroup and catalog to the state machine, the tables to Prepare', () => {
  const before = grantsByRole();
  const key = (g: Grant) => JSON.stringify(g);
  const added = Object.fromEntries(
    Object.entries(grantsByRole(athena))
      .map(([role, grants]) => {
        const had = new Set((before[role] ?? []).map(key));
        return [role, grants.filter((g) => !had.has(key(g)))];
      })
      .filter(([, grants]) => grants.length > 0),
  );
  // Nothing is taken away either.
  for (const [role, grants] of Object.entries(before)) {
    const now = new Set(grantsByRole(athena)[role].map(key));
    expect({ role, dropped: grants.filter((g) => !now.has(key(g))) }).toEqual({ role, dropped: [] });
  }
  const glue = (resource: string) => `arn:aws:glue:eu-west-2:ACCOUNT:${resource}`;
  const catalog = [glue('catalog'), glue('database/mlp_dev'), glue('table/mlp_dev/*')].sort().join(' | ');
  expect(sortedByRole(added)).toEqual(
    sortedByRole({
      PrepareStepFunctionServiceRole: [
        {
          sid: 'RegisterCuratedTables',
          actions: 'glue:CreateTable glue:GetTable glue:UpdateTable',
          resources: catalog,
        },
        {
          sid: 'ReadUnloadedTrainingSets',
          actions: 's3:GetObject',
          resources: 'curated-bucket/_athena/unload/loans/*',
        },
        {
          sid: 'ListUnloadedTrainingSets',
          actions: 's3:ListBucket',
          resources: 'curated-bucket',
          condition: { StringLike: { 's3:prefix': ['_athena/unload/loans/*'] } },
        },
      ],
      StateMachineRole: [
        {
          sid: 'RunTrainingSetQueries',
          actions: 'athena:GetQueryExecution athena:StartQueryExecution athena:StopQueryExecution',
          resources: 'arn:aws:athena:eu-west-2:ACCOUNT:workgroup/mlp-dev-training-sets',
        },
        { sid: 'ReadCuratedCatalog', actions: 'glue:GetDatabase glue:GetPartitions glue:GetTable', resources: catalog },
        { sid: 'QueryCuratedTable', actions: 's3:GetObject', resources: 'curated-bucket/loans/table/*' },
        LIST_CURATED_TABLE,
        {
          sid: 'WriteAthenaScratch',
          actions: 's3:PutObject',
          resources: 'curated-bucket/_athena/results/* | curated-bucket/_athena/unload/loans/*',
        },
        {
          sid: 'ListAthenaScratch',
          actions: 's3:ListBucket',
          resources: 'curated-bucket',
          condition: { StringLike: { 's3:prefix': ['_athena/*'] } },
        },
        { sid: 'LocateCuratedBucket', actions: 's3:GetBucketLocation', resources: 'curated-bucket' },
        {
          sid: 'CompleteAthenaWrites',
          actions: 's3:AbortMultipartUpload s3:ListMultipartUploadParts',
          resources: 'curated-bucket/_athena/*',
        },
        { sid: 'DecryptObjects', actions: 'kms:Decrypt', resources: 'key:landing' },
        { sid: 'EncryptObjects', actions: 'kms:GenerateDataKey', resources: 'key:landing' },
      ],
    }),
  );
});

test('the manifest rule starts an execution for each manifest of the dataset, with its key as the input', () => {
  const rules = Object.values(template.findResources('AWS::Events::Rule')).map((r) => r.Properties);
  const onManifest = rules.find((r) => r.EventPattern.source?.[0] === 'aws.s3');
  expect(onManifest.EventPattern).toEqual({
    source: ['aws.s3'],
    'detail-type': ['Object Created'],
    detail: {
      bucket: { name: [expect.anything()] },
      object: { key: [{ wildcard: 'landing/loans/*/_manifest.json' }] },
    },
  });
  expect(render(onManifest.EventPattern.detail.bucket.name[0])).toMatch(/LandingBucket|landing/i);
  const [target] = onManifest.Targets;
  expect(render(target.Arn)).toBe('StateMachine');
  const { InputPathsMap, InputTemplate } = target.InputTransformer;
  expect(InputPathsMap).toEqual({ 'detail-object-key': '$.detail.object.key' });
  // What an S3 "Object Created" event for a manifest turns into: the execution input ValidateManifest reads.
  const key = 'landing/loans/20261201T000000Z-abc/_manifest.json';
  const input = JSON.parse((InputTemplate as string).replace('<detail-object-key>', JSON.stringify(key)));
  expect(input).toEqual({ manifestKey: key, trigger: 'manifest' });

  const onDrift = rules.find((r) => r.EventPattern.source?.[0] === 'aws.cloudwatch');
  expect(onDrift.EventPattern.detail).toEqual({
    alarmName: [{ prefix: 'mlp-dev-drift-' }],
    state: { value: ['ALARM'] },
  });
  expect(JSON.parse(onDrift.Targets[0].Input)).toEqual({ trigger: 'drift' });
});
