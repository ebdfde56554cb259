/**
 * What a human approver needs to run `mlp approve VERSION --env ENV`, as one customer-managed policy the bank
 * attaches to its approvers' roles (an IAM Identity Center permission set, a federated role): read the approval
 * trail and append to it (create-only, never replace), find the waiting execution and its task token, answer it,
 * read the registry's versions (`mlp audit` checks the trail against their anchors) and the audit stack's
 * outputs. Nothing else: no model, data or deployment access. The identity the trail records is the caller's own
 * (STS GetCallerIdentity), so each approver uses a role session of their own.
 */
import { ArnFormat, Fn, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { audit } from '../../contracts/s3-layout';
import { STACK_OUTPUTS, stateMachineName } from '../../contracts/resource-names';
import { acknowledge, wildcardFinding } from '../compliance/acknowledge';

/** Properties of {@link ApproverPolicy}. */
export interface ApproverPolicyProps {
  readonly envName: string;
  readonly stateMachine: sfn.IStateMachine;
  /** The export of the audit bucket's ARN, and the key its objects are encrypted with. */
  readonly auditBucketArnExport: string;
  readonly auditKey: kms.IKey;
  /** ARN pattern of the dataset's model package versions (`…:model-package/<group>/*`). */
  readonly modelPackageVersions: string;
}

/** The approvers' managed policy. */
export class ApproverPolicy extends Construct {
  readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: ApproverPolicyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const bucketArn = Fn.importValue(props.auditBucketArnExport);
    const prefix = audit.approvalTrailPrefix(props.envName);
    const entries = `${bucketArn}/${prefix}*`;
    const executions = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${stateMachineName(props.envName)}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const auditStack = `${props.envName}-${STACK_OUTPUTS.auditBucket.stack}`;
    const auditStackArn = stack.formatArn({
      service: 'cloudformation',
      resource: 'stack',
      resourceName: `${auditStack}/*`,
    });
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description: `mlp ${props.envName}: decide candidates waiting at Approve (mlp approve), recorded in the approval trail`,
      statements: [
        new iam.PolicyStatement({ sid: 'ReadApprovalTrail', actions: ['s3:GetObject'], resources: [entries] }),
        new iam.PolicyStatement({
          sid: 'AppendApprovalTrail',
          actions: ['s3:PutObject'],
          resources: [entries],
          conditions: { Null: { 's3:if-none-match': 'false' } },
        }),
        new iam.PolicyStatement({
          sid: 'ListApprovalTrail',
          actions: ['s3:ListBucket'],
          resources: [bucketArn],
          conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
        }),
        new iam.PolicyStatement({
          sid: 'UseAuditKeyForTheTrail',
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [props.auditKey.keyArn],
          conditions: {
            StringEquals: {
              'kms:ViaService': `s3.${stack.region}.amazonaws.com`,
              'kms:EncryptionContext:aws:s3:arn': bucketArn,
            },
          },
        }),
        new iam.PolicyStatement({
          sid: 'FindTheWaitingTask',
          actions: ['states:DescribeExecution', 'states:GetExecutionHistory'],
          resources: [executions],
        }),
        // Callback answers are authorized against the state machine whose task waits.
        new iam.PolicyStatement({
          sid: 'AnswerTheWaitingTask',
          actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
          resources: [props.stateMachine.stateMachineArn],
        }),
        // mlp audit checks the trail against the anchors the registry records of it (trail-anchor.ts).
        new iam.PolicyStatement({
          sid: 'ListModelVersions',
          actions: ['sagemaker:ListModelPackages'],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'ReadModelVersions',
          actions: ['sagemaker:DescribeModelPackage'],
          resources: [props.modelPackageVersions],
        }),
        new iam.PolicyStatement({
          sid: 'ReadAuditStackOutputs',
          actions: ['cloudformation:DescribeStacks'],
          resources: [
            stack.formatArn({ service: 'cloudformation', resource: 'stack', resourceName: `${auditStack}/*` }),
          ],
        }),
      ],
    });
    acknowledge(
      this.policy,
      [wildcardFinding(`${props.auditBucketArnExport}/${prefix}*`)],
      `the approval trail's entries, one object each under ${prefix} of the audit bucket: read, and created only ` +
        'with If-None-Match (never replaced)',
    );
    acknowledge(
      this.policy,
      [wildcardFinding(executions)],
      `execution:${stateMachineName(props.envName)}: only, the state machine's executions, read (DescribeExecution, GetExecutionHistory): ` +
        'the waiting one is named in the approval request, its task token is in its history',
    );
    acknowledge(
      this.policy,
      [wildcardFinding('*'), wildcardFinding(props.modelPackageVersions)],
      'sagemaker:ListModelPackages takes no resource (it lists names, filtered to the group by the CLI); ' +
        `sagemaker:DescribeModelPackage only on ${props.modelPackageVersions.split(':').pop()}, the versions of ` +
        "this dataset's group, numbered by SageMaker at registration: mlp audit reads their trail anchors",
    );
    acknowledge(
      this.policy,
      [wildcardFinding(auditStackArn)],
      `DescribeStacks of stack/${auditStack}/ only (its AuditBucketName output): the stack id suffix is not known before deploy`,
    );
  }
}
