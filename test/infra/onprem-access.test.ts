import type { Template } from 'aws-cdk-lib/assertions';
import { ENVIRONMENTS, loadEnvironment } from '../../config';
import { synthesizePlatform, templateOf } from '../support/platform';

const platform = synthesizePlatform();

describe.each(['dev', 'staging', 'prod'])('%s on-prem access', (envName) => {
  const config = loadEnvironment(envName);
  let template: Template;
  beforeAll(() => {
    template = templateOf(platform.stages[envName], 'onPremAccess');
  });

  test('trusts the configured bank CA bundle through a Roles Anywhere trust anchor', () => {
    template.hasResourceProperties('AWS::RolesAnywhere::TrustAnchor', {
      Enabled: true,
      Source: { SourceType: 'CERTIFICATE_BUNDLE', SourceData: { X509CertificateData: config.onPrem.caCertificatePem } },
    });
    template.hasResourceProperties('AWS::RolesAnywhere::Profile', {
      Enabled: true,
      DurationSeconds: 3600,
      RoleArns: [{ 'Fn::GetAtt': ['AgentRoleF4A42D6B', 'Arn'] }],
    });
  });

  test('the agent role is assumable only via that trust anchor by the configured certificate CN', () => {
    const role = template.findResources('AWS::IAM::Role').AgentRoleF4A42D6B.Properties;
    expect(role.RoleName).toBe(`mlp-${envName}-onprem-agent`);
    expect(role.MaxSessionDuration).toBe(3600);
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.Policies).toBeUndefined();
    const anchor = { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['BankCaTrustAnchor', 'TrustAnchorArn'] } } };
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'rolesanywhere.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: {
          ...anchor,
          StringEquals: { 'aws:PrincipalTag/x509Subject/CN': config.onPrem.agentCertificateCommonName },
        },
      },
      {
        Effect: 'Allow',
        Principal: { Service: 'rolesanywhere.amazonaws.com' },
        Action: ['sts:SetSourceIdentity', 'sts:TagSession'],
        Condition: anchor,
      },
    ]);
  });

  test('the agent may only put, read back and list objects under landing/<dataset>/ and use the landing key via S3', () => {
    const policies = Object.values(template.findResources('AWS::IAM::ManagedPolicy'));
    expect(policies).toHaveLength(1);
    template.resourceCountIs('AWS::IAM::Policy', 0);
    expect(policies[0].Properties.Roles).toEqual([{ Ref: 'AgentRoleF4A42D6B' }]);
    const bucketArn = { 'Fn::ImportValue': `mlp-${envName}-landing-bucket-arn` };
    // CDK orders a statement's resources; the datasets' prefixes, in that order.
    const objects = [...config.onPrem.datasets]
      .sort()
      .map((d) => ({ 'Fn::Join': ['', [bucketArn, `/landing/${d}/*`]] }));
    expect(policies[0].Properties.PolicyDocument.Statement).toEqual([
      {
        Sid: 'PutAndReadBackExtracts',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject'],
        Resource: objects.length === 1 ? objects[0] : objects,
      },
      {
        Sid: 'ListOwnExtracts',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: bucketArn,
        Condition: { StringLike: { 's3:prefix': config.onPrem.datasets.map((d) => `landing/${d}/*`) } },
      },
      {
        Sid: 'LandingKeyThroughS3',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: expect.objectContaining({
          'Fn::GetStackOutput': expect.objectContaining({
            StackName: `${envName}-Keys`,
            OutputName: expect.stringContaining('LandingKey'),
          }),
        }),
        Condition: {
          StringEquals: {
            'kms:ViaService': `s3.${config.region}.amazonaws.com`,
            'kms:EncryptionContext:aws:s3:arn': bucketArn,
          },
        },
      },
    ]);
  });
});

test('each configured dataset gets its own prefix, and nothing broader', () => {
  const dev = ENVIRONMENTS.dev;
  const { stages } = synthesizePlatform(['dev'], {
    environments: {
      dev: { ...dev, onPrem: { ...dev.onPrem, datasets: ['loans', 'loan_outcomes', 'loan_attributes', 'cards'] } },
    },
  });
  const statement = Object.values(templateOf(stages.dev, 'onPremAccess').findResources('AWS::IAM::ManagedPolicy'))[0]
    .Properties.PolicyDocument.Statement[0];
  const tails = (statement.Resource as Array<{ 'Fn::Join': [string, [unknown, string]] }>).map(
    (r) => r['Fn::Join'][1][1],
  );
  expect(tails.sort()).toEqual([
    '/landing/cards/*',
    '/landing/loan_attributes/*',
    '/landing/loan_outcomes/*',
    '/landing/loans/*',
  ]);
});
