/**
 * What a SageMaker training job of the pipeline runs as and where: a role that reads the dataset's channels,
 * writes the artifact, logs, and manages its network interfaces in the isolated subnets; and a security group
 * that lets it reach only the VPC endpoints (the job also runs with network isolation).
 */
import { ArnFormat, type Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { curated, models } from '../../contracts/s3-layout';
import { acknowledgeGrants, INLINE_POLICY, wildcardFinding } from '../compliance/acknowledge';
import type { ObjectAccess } from './object-access';

/** Properties of {@link createTrainingAccess}. */
export interface TrainingAccessProps {
  readonly envName: string;
  readonly dataset: string;
  readonly vpc: ec2.IVpc;
  readonly objects: ObjectAccess;
  /** Encrypts the artifact and the training volume. */
  readonly modelsKey: kms.IKey;
}

/** The training job's identity and network placement. */
export interface TrainingAccess {
  readonly role: iam.Role;
  readonly securityGroup: ec2.SecurityGroup;
  /** The isolated subnets the job's interfaces go in. */
  readonly subnetIds: readonly string[];
}

const TRAINING_LOG_GROUP = '/aws/sagemaker/TrainingJobs';

/** Creates the training role and security group in `stack`. */
export function createTrainingAccess(stack: Stack, props: TrainingAccessProps): TrainingAccess {
  const { dataset, objects } = props;
  const role = new iam.Role(stack, 'TrainingRole', {
    assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
    description: `mlp ${props.envName}: SageMaker XGBoost training jobs of ${dataset}`,
  });
  const channels = { bucket: 'curated', prefix: curated.datasetPrefix(dataset) } as const;
  objects.read(role, {
    sid: 'ReadChannels',
    objects: [channels],
    why: 'the train and validation channels sit under the dataset version, which only exists at run time.',
  });
  objects.list(role, 'curated', `${curated.datasetPrefix(dataset)}*`);
  objects.write(role, {
    sid: 'WriteArtifacts',
    objects: [{ bucket: 'models', prefix: models.trainingPrefix(dataset) }],
    why: 'SageMaker writes the artifact under the training job name, which only exists at run time.',
  });
  const logGroups = stack.formatArn({
    service: 'logs',
    resource: 'log-group',
    resourceName: `${TRAINING_LOG_GROUP}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'TrainingLogsAndMetrics',
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resources: [logGroups],
    }),
  );
  acknowledgeGrants(
    role,
    [wildcardFinding(logGroups)],
    `Training logs go to log-group:${TRAINING_LOG_GROUP}: with a stream per job, named by SageMaker at run time.`,
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'TrainingMetrics',
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': TRAINING_LOG_GROUP } },
    }),
  );
  role.addToPrincipalPolicy(
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
  acknowledgeGrants(
    role,
    ['AwsSolutions-IAM5[Resource::*]'],
    'SageMaker training in the VPC: ec2:CreateNetworkInterface and the other ENI actions, and ' +
      'cloudwatch:PutMetricData (conditioned on its namespace), have no resource scoping.',
  );
  // OutputDataConfig.KmsKeyId: SageMaker's documentation asks kms:Encrypt of the role for the artifact.
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'EncryptArtifact',
      actions: ['kms:Encrypt'],
      resources: [props.modelsKey.keyArn],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'EncryptTrainingVolume',
      actions: ['kms:CreateGrant'],
      resources: [props.modelsKey.keyArn],
    }),
  );
  acknowledgeGrants(
    role,
    INLINE_POLICY,
    'Policy of the SageMaker training role, scoped as above. Inline keeps it deleted with the role.',
  );

  const securityGroup = new ec2.SecurityGroup(stack, 'TrainingSecurityGroup', {
    vpc: props.vpc,
    description: 'SageMaker training: HTTPS to VPC endpoints only',
    allowAllOutbound: false,
  });
  securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to VPC endpoints');
  const subnetIds = props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnetIds;
  return { role, securityGroup, subnetIds };
}
