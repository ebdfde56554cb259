import { Match, type Template } from 'aws-cdk-lib/assertions';
import { loadEnvironment } from '../../config';
import { synthesizePlatform, templateOf } from '../support/platform';

const platform = synthesizePlatform();

describe.each(['dev', 'staging', 'prod'])('%s network', (envName) => {
  const config = loadEnvironment(envName);
  let network: Template;
  beforeAll(() => {
    network = templateOf(platform.stages[envName], 'network');
  });

  test('has no internet gateway, NAT, elastic IP or public subnet', () => {
    for (const type of [
      'AWS::EC2::InternetGateway',
      'AWS::EC2::VPCGatewayAttachment',
      'AWS::EC2::NatGateway',
      'AWS::EC2::EIP',
      'AWS::EC2::EgressOnlyInternetGateway',
    ]) {
      network.resourceCountIs(type, 0);
    }
    network.resourcePropertiesCountIs('AWS::EC2::Subnet', { MapPublicIpOnLaunch: true }, 0);
    network.resourcePropertiesCountIs('AWS::EC2::Route', {}, 0);
  });

  test('places one isolated subnet in each configured availability zone', () => {
    const subnets = Object.values(network.findResources('AWS::EC2::Subnet'));
    expect(subnets.map((s) => s.Properties.AvailabilityZone).sort()).toEqual([...config.availabilityZones].sort());
    network.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: config.vpcCidr });
  });

  test('logs all VPC traffic to a KMS-encrypted log group with the configured retention', () => {
    network.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC', TrafficType: 'ALL' });
    network.hasResourceProperties('AWS::Logs::LogGroup', {
      KmsKeyId: Match.anyValue(),
      RetentionInDays: config.logRetentionDays,
    });
  });

  test('closes the default security group', () => {
    network.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  });

  test('has an interface endpoint for every AWS API the platform and the agent call', () => {
    const interfaceServices = Object.values(network.findResources('AWS::EC2::VPCEndpoint'))
      .filter((e) => e.Properties.VpcEndpointType === 'Interface')
      .map((e) => String(e.Properties.ServiceName).replace(`com.amazonaws.${config.region}.`, ''))
      .sort();
    expect(interfaceServices).toEqual(
      [
        's3',
        'sts',
        'rolesanywhere',
        'sagemaker.api',
        'states',
        'lambda',
        'execute-api',
        'logs',
        'monitoring',
        'kms',
        'sns',
        'ecr.api',
        'ecr.dkr',
        'ssm',
        // The curated tables' catalog, and Athena over them (engine athena).
        'glue',
        'athena',
      ].sort(),
    );
    network.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: Match.objectLike({ 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.s3']] }),
    });
    network.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: `com.amazonaws.${config.region}.s3`,
      VpcEndpointType: 'Interface',
      PrivateDnsEnabled: false,
    });
  });

  test('S3 endpoints only reach buckets of this account (and ECR image layers)', () => {
    const s3Endpoints = Object.values(network.findResources('AWS::EC2::VPCEndpoint')).filter((e) =>
      JSON.stringify(e.Properties.ServiceName).includes('.s3'),
    );
    expect(s3Endpoints).toHaveLength(2);
    for (const endpoint of s3Endpoints) {
      expect(endpoint.Properties.PolicyDocument.Statement).toEqual([
        expect.objectContaining({
          Action: 's3:*',
          Effect: 'Allow',
          Condition: { StringEquals: { 's3:ResourceAccount': config.account } },
        }),
        expect.objectContaining({
          Action: 's3:GetObject',
          Effect: 'Allow',
          Resource: `arn:aws:s3:::prod-${config.region}-starport-layer-bucket/*`,
        }),
      ]);
    }
  });

  test('endpoints admit HTTPS only, from the VPC and the on-prem networks', () => {
    const groups = Object.values(network.findResources('AWS::EC2::SecurityGroup'));
    expect(groups).toHaveLength(1);
    const ingress = groups[0].Properties.SecurityGroupIngress as Array<Record<string, unknown>>;
    expect(ingress.map((rule) => rule.CidrIp).sort()).toEqual([config.vpcCidr, ...config.onPremCidrs].sort());
    for (const rule of ingress) expect(rule).toMatchObject({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443 });
    expect(groups[0].Properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' }),
    ]);
    network.resourcePropertiesCountIs('AWS::EC2::SecurityGroupIngress', {}, 0);
    const endpoints = Object.values(network.findResources('AWS::EC2::VPCEndpoint')).filter(
      (e) => e.Properties.VpcEndpointType === 'Interface',
    );
    for (const endpoint of endpoints) expect(endpoint.Properties.SecurityGroupIds).toHaveLength(1);
  });
});
