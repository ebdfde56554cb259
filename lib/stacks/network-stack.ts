/**
 * The platform's network: a VPC with isolated subnets only (no internet gateway, no NAT), flow logs, and VPC
 * endpoints for every AWS API the platform and the on-prem agent call. Interface endpoints accept 443 only
 * from the VPC and the bank's on-prem networks.
 */
import { RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { acknowledge, INLINE_POLICY } from '../compliance/acknowledge';

/** Interface endpoints by construct id. The S3 one is created separately (it carries its own policy). */
export const INTERFACE_ENDPOINTS: Readonly<Record<string, ec2.InterfaceVpcEndpointAwsService>> = {
  Sts: ec2.InterfaceVpcEndpointAwsService.STS,
  RolesAnywhere: ec2.InterfaceVpcEndpointAwsService.IAM_ROLES_ANYWHERE,
  SageMakerApi: ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API,
  StepFunctions: ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS,
  // Prepare registers curated tables in Glue; Athena is reachable from the VPC for whoever inspects them.
  Glue: ec2.InterfaceVpcEndpointAwsService.GLUE,
  Athena: ec2.InterfaceVpcEndpointAwsService.ATHENA,
  Lambda: ec2.InterfaceVpcEndpointAwsService.LAMBDA,
  ExecuteApi: ec2.InterfaceVpcEndpointAwsService.APIGATEWAY,
  Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  Monitoring: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
  Kms: ec2.InterfaceVpcEndpointAwsService.KMS,
  // The prod approval step publishes approval requests from the isolated subnets.
  Sns: ec2.InterfaceVpcEndpointAwsService.SNS,
  EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
  EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
  Ssm: ec2.InterfaceVpcEndpointAwsService.SSM,
};

/** Properties of {@link NetworkStack}. */
export interface NetworkStackProps extends StackProps {
  readonly vpcCidr: string;
  readonly availabilityZones: readonly string[];
  /** Bank networks reaching the endpoints over Direct Connect or VPN. */
  readonly onPremCidrs: readonly string[];
  /** Key for the flow-log group. */
  readonly logsKey: kms.IKey;
  readonly logRetentionDays: number;
  readonly retain: boolean;
}

/** VPC, flow logs and endpoints. */
export class NetworkStack extends Stack {
  public readonly vpc: ec2.Vpc;
  /** Security group of every interface endpoint. */
  public readonly endpointSecurityGroup: ec2.SecurityGroup;
  /** The S3 interface endpoint the on-prem agent reaches over the private link. */
  public readonly s3InterfaceEndpoint: ec2.InterfaceVpcEndpoint;
  /** Interface endpoints by construct id (see {@link INTERFACE_ENDPOINTS}). */
  public readonly interfaceEndpoints: Readonly<Record<string, ec2.InterfaceVpcEndpoint>>;
  private readonly configuredZones: string[];

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    this.configuredZones = [...props.availabilityZones];

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.vpcCidr),
      availabilityZones: this.configuredZones,
      natGateways: 0,
      createInternetGateway: false,
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    Validations.of(this.vpc).acknowledge({
      id: 'CloudFormation-Validate::W3010',
      reason:
        'Availability zones are literal on purpose: they come from the environment config so that synth never ' +
        'performs an AWS lookup and the subnets never move between zones on a later synth.',
    });

    const flowLogGroup = new logs.LogGroup(this, 'FlowLogGroup', {
      encryptionKey: props.logsKey,
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const flowLog = this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
    acknowledge(
      flowLog.node.findChild('IAMRole').node.findChild('DefaultPolicy'),
      INLINE_POLICY,
      'CDK-generated policy of the VPC flow-log delivery role: logs:CreateLogStream/DescribeLogStreams/PutLogEvents ' +
        'on the one flow-log group only. Inline keeps it deleted with the role; no other principal uses it.',
    );

    this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'Interface endpoints: HTTPS from the VPC and the bank on-prem networks only',
      allowAllOutbound: false,
    });
    for (const cidr of [props.vpcCidr, ...props.onPremCidrs]) {
      this.endpointSecurityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), `HTTPS from ${cidr}`);
    }

    const subnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    const s3Gateway = this.vpc.addGatewayEndpoint('S3Gateway', {
      service: ec2.GatewayVpcEndpointAwsService.S3,
      subnets: [subnets],
    });
    this.s3InterfaceEndpoint = this.vpc.addInterfaceEndpoint('S3Interface', {
      service: ec2.InterfaceVpcEndpointAwsService.S3,
      subnets,
      securityGroups: [this.endpointSecurityGroup],
      open: false,
      // In-VPC traffic resolves S3 to the gateway endpoint; the agent addresses this one by its endpoint DNS name.
      privateDnsEnabled: false,
    });
    for (const endpoint of [s3Gateway, this.s3InterfaceEndpoint]) {
      for (const statement of this.s3EndpointPolicy()) endpoint.addToPolicy(statement);
    }

    const endpoints: Record<string, ec2.InterfaceVpcEndpoint> = {};
    for (const [endpointId, service] of Object.entries(INTERFACE_ENDPOINTS)) {
      endpoints[endpointId] = this.vpc.addInterfaceEndpoint(endpointId, {
        service,
        subnets,
        securityGroups: [this.endpointSecurityGroup],
        open: false,
        privateDnsEnabled: true,
      });
    }
    this.interfaceEndpoints = endpoints;
  }

  /** The configured zones: constructs that ask the stack for its zones must never trigger a context lookup. */
  override get availabilityZones(): string[] {
    return this.configuredZones;
  }

  /** S3 through the endpoints reaches this account's buckets only, plus the ECR layer bucket for image pulls. */
  private s3EndpointPolicy(): iam.PolicyStatement[] {
    return [
      new iam.PolicyStatement({
        sid: 'OwnAccountBucketsOnly',
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:*'],
        resources: ['*'],
        conditions: { StringEquals: { 's3:ResourceAccount': this.account } },
      }),
      new iam.PolicyStatement({
        sid: 'EcrImageLayers',
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject'],
        resources: [`arn:${this.partition}:s3:::prod-${this.region}-starport-layer-bucket/*`],
      }),
    ];
  }
}
