/**
 * Athena for the training sets of a dataset that outgrows one function (config `retraining.trainingSet.engine:
 * athena`): the Glue database Prepare registers the curated tables in, the workgroup QueryTrainingSet runs in
 * (engine 3, results under the curated bucket encrypted with the landing key, settings enforced, a cap on the
 * bytes one query may scan), and the access each side needs. Athena reads and writes S3 as its caller, the state
 * machine's role: that role reads the curated table and writes Athena's scratch; Prepare's function registers
 * tables and reads the unloaded rows. The VPC's Athena and Glue endpoints are the network stack's.
 */
import { ArnFormat, Fn, type Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { athenaWorkGroupName, glueDatabaseName } from '../../contracts/resource-names';
import { curated } from '../../contracts/s3-layout';
import { acknowledgeGrants, wildcardFinding } from '../compliance/acknowledge';
import type { ObjectAccess } from './object-access';

/** The most one training-set query may scan: a runaway query stops here (Athena bills by bytes scanned). */
export const BYTES_SCANNED_CUTOFF = 1024 ** 4;

/** Properties of {@link createTrainingSetQuery}. */
export interface TrainingSetQueryProps {
  readonly envName: string;
  readonly dataset: string;
  readonly curatedBucketName: string;
  /** Export name of the curated bucket's ARN (IAM statements import it by name). */
  readonly curatedBucketArnExport: string;
  /** The key of the curated bucket (the landing key): Athena's results are encrypted with it too. */
  readonly curatedKey: kms.IKey;
  readonly objects: ObjectAccess;
  /** The state machine's role (Athena's caller) and Prepare's function (registers the tables). */
  readonly caller: iam.IGrantable;
  readonly prepare: iam.IGrantable;
}

/** The workgroup and database the Athena states name. */
export interface TrainingSetQuery {
  readonly workGroup: string;
  readonly database: string;
}

/** Creates the Glue database, the workgroup and the grants. */
export function createTrainingSetQuery(stack: Stack, props: TrainingSetQueryProps): TrainingSetQuery {
  const { envName, dataset, objects } = props;
  const database = glueDatabaseName(envName);
  const workGroup = athenaWorkGroupName(envName);
  new glue.CfnDatabase(stack, 'CuratedCatalog', {
    catalogId: stack.account,
    databaseInput: { name: database, description: `mlp ${envName}: the curated tables, one per dataset key id` },
  });
  new athena.CfnWorkGroup(stack, 'TrainingSetWorkGroup', {
    name: workGroup,
    description: `mlp ${envName}: selects training sets from the curated tables`,
    state: 'ENABLED',
    recursiveDeleteOption: true,
    workGroupConfiguration: {
      enforceWorkGroupConfiguration: true,
      publishCloudWatchMetricsEnabled: true,
      bytesScannedCutoffPerQuery: BYTES_SCANNED_CUTOFF,
      engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
      resultConfiguration: {
        outputLocation: `s3://${props.curatedBucketName}/${curated.athenaResultsPrefix}`,
        encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: props.curatedKey.keyArn },
        expectedBucketOwner: stack.account,
      },
    },
  });

  const arn = (service: string, resource: string, resourceName?: string) =>
    stack.formatArn({ service, resource, resourceName, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
  const tables = arn('glue', 'table', `${database}/*`);
  const catalog = [arn('glue', 'catalog'), arn('glue', 'database', database), tables];

  const caller = props.caller.grantPrincipal;
  caller.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'RunTrainingSetQueries',
      actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:StopQueryExecution'],
      resources: [arn('athena', 'workgroup', workGroup)],
    }),
  );
  caller.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadCuratedCatalog',
      actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
      resources: catalog,
    }),
  );
  const why =
    "the curated table's files are keyed by key id and run; Athena's scratch by dataset version and execution.";
  objects.read(props.caller, {
    sid: 'QueryCuratedTable',
    objects: [{ bucket: 'curated', prefix: curated.tablesPrefix(dataset) }],
    why,
  });
  objects.list(props.caller, 'curated', `${curated.tablesPrefix(dataset)}*`, 'ListCuratedTable');
  objects.write(props.caller, {
    sid: 'WriteAthenaScratch',
    objects: [
      { bucket: 'curated', prefix: curated.athenaResultsPrefix },
      { bucket: 'curated', prefix: curated.athenaUnloadDatasetPrefix(dataset) },
    ],
    why,
  });
  // UNLOAD checks that its prefix is empty; Athena finds the bucket's region and completes multipart writes.
  objects.list(props.caller, 'curated', `${curated.athenaPrefix}*`, 'ListAthenaScratch');
  caller.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'LocateCuratedBucket',
      actions: ['s3:GetBucketLocation'],
      resources: [Fn.importValue(props.curatedBucketArnExport)],
    }),
  );
  caller.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'CompleteAthenaWrites',
      actions: ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      resources: [`${Fn.importValue(props.curatedBucketArnExport)}/${curated.athenaPrefix}*`],
    }),
  );

  const prepare = props.prepare.grantPrincipal;
  prepare.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'RegisterCuratedTables',
      actions: ['glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable'],
      resources: catalog,
    }),
  );
  objects.read(props.prepare, {
    sid: 'ReadUnloadedTrainingSets',
    objects: [{ bucket: 'curated', prefix: curated.athenaUnloadDatasetPrefix(dataset) }],
    why,
  });
  objects.list(props.prepare, 'curated', `${curated.athenaUnloadDatasetPrefix(dataset)}*`, 'ListUnloadedTrainingSets');

  const tablesWhy =
    `the Glue tables table/${database}/ of the environment's database: one per key id of the curated table, ` +
    'named by Prepare when a key id first appears.';
  acknowledgeGrants(props.prepare, [wildcardFinding(tables)], tablesWhy);
  acknowledgeGrants(
    props.caller,
    [wildcardFinding(tables), wildcardFinding(`${props.curatedBucketArnExport}/${curated.athenaPrefix}*`)],
    `${tablesWhy} Multipart writes only under ${curated.athenaPrefix}, Athena's scratch.`,
  );
  return { workGroup, database };
}
