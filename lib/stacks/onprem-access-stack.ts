/**
 * How the on-prem agent gets AWS credentials: an IAM Roles Anywhere trust anchor built from the bank CA's
 * certificate bundle, a profile, and the agent role. The role may only put and read back objects under
 * `landing/<dataset>/` for its configured datasets, using the landing key through S3. Nothing else.
 */
import { Duration, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as rolesanywhere from 'aws-cdk-lib/aws-rolesanywhere';
import type { Construct } from 'constructs';
import { agentProfileName, agentRoleName, trustAnchorName } from '../../contracts/resource-names';
import { landing } from '../../contracts/s3-layout';
import { acknowledge, wildcardFinding } from '../compliance/acknowledge';

/** Properties of {@link OnPremAccessStack}. */
export interface OnPremAccessStackProps extends StackProps {
  readonly envName: string;
  /** PEM bundle of the bank CA that issues agent certificates. */
  readonly caCertificatePem: string;
  /** Subject CN the agent certificate must present. */
  readonly agentCertificateCommonName: string;
  /** Datasets the agent may write. */
  readonly datasets: readonly string[];
  /** Export name of the landing bucket ARN (see DataStack.landingBucketArnExport). */
  readonly landingBucketArnExport: string;
  readonly landingKey: kms.IKey;
}

/** Session length of agent credentials. */
export const AGENT_SESSION = Duration.hours(1);

/** Roles Anywhere trust anchor, profile and the least-privilege agent role. */
export class OnPremAccessStack extends Stack {
  public readonly trustAnchor: rolesanywhere.CfnTrustAnchor;
  public readonly profile: rolesanywhere.CfnProfile;
  public readonly agentRole: iam.Role;
  /** The agent role's only policy. */
  public readonly agentPolicy: iam.ManagedPolicy;
  /** Object ARN patterns the agent may write, one per dataset. */
  public readonly agentObjectArns: readonly string[];
  /** Datasets the agent may write. */
  public readonly datasets: readonly string[];

  constructor(scope: Construct, id: string, props: OnPremAccessStackProps) {
    super(scope, id, props);
    this.datasets = [...props.datasets];
    this.trustAnchor = new rolesanywhere.CfnTrustAnchor(this, 'BankCaTrustAnchor', {
      name: trustAnchorName(props.envName),
      enabled: true,
      source: {
        sourceType: 'CERTIFICATE_BUNDLE',
        sourceData: { x509CertificateData: props.caCertificatePem },
      },
    });

    this.agentRole = new iam.Role(this, 'AgentRole', {
      roleName: agentRoleName(props.envName),
      description: `mlp ${props.envName}: on-prem extract agent (IAM Roles Anywhere)`,
      maxSessionDuration: AGENT_SESSION,
      assumedBy: new iam.ServicePrincipal('rolesanywhere.amazonaws.com').withConditions({
        ArnEquals: { 'aws:SourceArn': this.trustAnchor.attrTrustAnchorArn },
        StringEquals: { 'aws:PrincipalTag/x509Subject/CN': props.agentCertificateCommonName },
      }),
    });
    // Roles Anywhere also tags the session and may set a source identity.
    this.agentRole.assumeRolePolicy?.addStatements(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('rolesanywhere.amazonaws.com')],
        actions: ['sts:TagSession', 'sts:SetSourceIdentity'],
        conditions: { ArnEquals: { 'aws:SourceArn': this.trustAnchor.attrTrustAnchorArn } },
      }),
    );

    const landingBucketArn = Fn.importValue(props.landingBucketArnExport);
    this.agentObjectArns = props.datasets.map((dataset) => `${landingBucketArn}/${landing.datasetPrefix(dataset)}*`);
    this.agentPolicy = new iam.ManagedPolicy(this, 'AgentPolicy', {
      description: 'Put and read back extract objects under landing/<dataset>/ with the landing key, via S3 only',
      roles: [this.agentRole],
      statements: [
        new iam.PolicyStatement({
          sid: 'PutAndReadBackExtracts',
          actions: ['s3:PutObject', 's3:GetObject'],
          resources: [...this.agentObjectArns],
        }),
        // Resuming asks whether a manifest exists: without ListBucket S3 answers 403 instead of 404.
        new iam.PolicyStatement({
          sid: 'ListOwnExtracts',
          actions: ['s3:ListBucket'],
          resources: [landingBucketArn],
          conditions: {
            StringLike: { 's3:prefix': props.datasets.map((dataset) => `${landing.datasetPrefix(dataset)}*`) },
          },
        }),
        new iam.PolicyStatement({
          sid: 'LandingKeyThroughS3',
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [props.landingKey.keyArn],
          conditions: {
            StringEquals: {
              'kms:ViaService': `s3.${this.region}.amazonaws.com`,
              'kms:EncryptionContext:aws:s3:arn': landingBucketArn,
            },
          },
        }),
      ],
    });
    for (const dataset of props.datasets) {
      acknowledge(
        this.agentPolicy,
        [wildcardFinding(`${props.landingBucketArnExport}/${landing.datasetPrefix(dataset)}*`)],
        `The agent writes one object per extract part under landing/${dataset}/<run-id>/ with keys it generates at ` +
          'run time; the wildcard is confined to that dataset prefix of the landing bucket, for s3:PutObject and ' +
          's3:GetObject (read-back on resume) only.',
      );
    }

    this.profile = new rolesanywhere.CfnProfile(this, 'AgentProfile', {
      name: agentProfileName(props.envName),
      enabled: true,
      roleArns: [this.agentRole.roleArn],
      durationSeconds: AGENT_SESSION.toSeconds(),
    });
  }
}
