/**
 * The one Lambda shape the platform deploys: nodejs22.x on arm64, bundled and minified by esbuild (the AWS
 * SDK v3 comes from the runtime), in the isolated subnets with HTTPS-only egress, X-Ray tracing, reserved
 * concurrency, and its own KMS-encrypted log group with the environment's retention.
 */
import * as path from 'node:path';
import { AssetStaging, Duration, RemovalPolicy, Size } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge, INLINE_POLICY } from '../compliance/acknowledge';
import { BUNDLE_ALIASES, BUNDLE_EXTERNALS, BUNDLE_TARGET, LAMBDA_NPM_PLATFORM } from '../lambda-bundling';

/** Repository root: bundling resolves entries and the lock file from here. */
const ROOT = path.resolve(__dirname, '..', '..');

/** Properties of {@link PlatformFunction}. */
export interface PlatformFunctionProps {
  /** Handler module, relative to the repository root (e.g. `lambdas/scorer/handler.ts`). */
  readonly entry: string;
  /** Exported handler name. @default 'handler' */
  readonly handler?: string;
  readonly description: string;
  readonly vpc: ec2.IVpc;
  readonly memoryMb: number;
  readonly reservedConcurrency: number;
  /** @default 30 seconds */
  readonly timeout?: Duration;
  /**
   * Packages with native code to install beside the bundle (esbuild cannot bundle them), for the function's
   * platform (linux arm64) whatever machine builds it.
   */
  readonly nodeModules?: readonly string[];
  /** Ephemeral storage (/tmp) in MB, for functions that spill to disk. @default 512 */
  readonly ephemeralStorageMb?: number;
  readonly environment?: Record<string, string>;
  readonly logRetentionDays: number;
  /** Key of the function's log group. */
  readonly logsKey: kms.IKey;
  readonly retainLogs: boolean;
  /**
   * Ship a source map and start Node with --enable-source-maps, for readable stack traces. Node then reads
   * and parses the map while loading the bundle, which lengthens every cold start. @default true
   */
  readonly sourceMaps?: boolean;
  /**
   * The two compliance reasons that depend on what the function does: why its role's policy is inline (what
   * it grants), and why it needs no dead-letter queue (how it is invoked).
   */
  readonly compliance: { readonly inlinePolicy: string; readonly invocation: string };
}

/** A platform Lambda function. */
export class PlatformFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly securityGroup: ec2.SecurityGroup;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PlatformFunctionProps) {
    super(scope, id);
    const sourceMaps = props.sourceMaps ?? true;
    if (props.reservedConcurrency < 1) throw new Error(`${this.node.path}: reservedConcurrency must be at least 1`);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `${id}: HTTPS to VPC endpoints only (the subnets have no internet route)`,
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to interface and gateway endpoints');
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      encryptionKey: props.logsKey,
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.retainLogs ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(ROOT, props.entry),
      handler: props.handler ?? 'handler',
      projectRoot: ROOT,
      depsLockFilePath: path.join(ROOT, 'package-lock.json'),
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memoryMb,
      timeout: props.timeout ?? Duration.seconds(30),
      ...(props.ephemeralStorageMb ? { ephemeralStorageSize: Size.mebibytes(props.ephemeralStorageMb) } : {}),
      reservedConcurrentExecutions: props.reservedConcurrency,
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [this.securityGroup],
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      environment: { ...(sourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}), ...props.environment },
      bundling: {
        minify: true,
        sourceMap: sourceMaps,
        target: BUNDLE_TARGET,
        externalModules: [...BUNDLE_EXTERNALS],
        // Alias targets are relative to the project root: where CDK runs esbuild locally, and (set here) the
        // working directory of its bundling container, which mounts the project at /asset-input.
        esbuildArgs: Object.fromEntries(Object.entries(BUNDLE_ALIASES).map(([from, to]) => [`--alias:${from}`, to])),
        workingDirectory: AssetStaging.BUNDLING_INPUT_DIR,
        ...(props.nodeModules?.length ? nativeModuleBundling(props.nodeModules) : {}),
      },
    });
    this.acknowledgeBasics(props.compliance);
  }

  /**
   * The findings every platform function shares: AWS's execution policies, X-Ray on "*", the runtime pin; plus
   * its inline policy and its invocation (no DLQ), whose reasons the caller gives.
   */
  private acknowledgeBasics(reasons: PlatformFunctionProps['compliance']): void {
    const role = this.function.role!;
    // Tracing has already added the X-Ray statements, so the role's default policy exists.
    const policy = role.node.findChild('DefaultPolicy');
    acknowledge(
      role,
      [
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      ],
      'AWS-maintained minimal Lambda execution policies: CloudWatch Logs writes and the ENI management a function ' +
        'in the isolated subnets needs; they grant no data access.',
    );
    acknowledge(
      policy,
      ['AwsSolutions-IAM5[Resource::*]'],
      'Only xray:PutTraceSegments and xray:PutTelemetryRecords are granted on "*": X-Ray has no resource-level ' +
        'permissions for them.',
    );
    acknowledge(policy, INLINE_POLICY, reasons.inlinePolicy);
    acknowledge(
      this.function,
      ['AwsSolutions-L1'],
      'Pinned to nodejs22.x, the runtime the platform is built, tested and benchmarked for (esbuild target ' +
        'node22); moving to a newer runtime is a deliberate, tested change rather than a silent one.',
    );
    acknowledge(this.function, ['NIST.800.53.R5-LambdaDLQ'], reasons.invocation);
  }
}

/**
 * Bundling options that install `modules` into the bundle directory with npm ci, an `.npmrc` written first so
 * npm picks the packages of the Lambda platform ({@link LAMBDA_NPM_PLATFORM}).
 */
function nativeModuleBundling(modules: readonly string[]): Partial<nodejs.BundlingOptions> {
  const npmrc = Object.entries(LAMBDA_NPM_PLATFORM)
    .map(([key, value]) => `${key}=${value}`)
    .join('\\n');
  return {
    nodeModules: [...modules],
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: (_input: string, output: string) => [`printf '${npmrc}\\n' > "${output}/.npmrc"`],
      afterBundling: () => [],
    },
  };
}
