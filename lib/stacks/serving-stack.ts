/**
 * Online scoring: the scorer Lambda (with a `live` alias) behind a private REST API. The API has endpoint
 * type PRIVATE, IAM authorization, and a resource policy that admits only the VPC's execute-api endpoint;
 * the function has no URL. Alarms on the scorer's 5xx rate (its own Requests and ServerErrors, plus Lambda's
 * Errors for crashes) and p99 latency guard deployments; a canary is also judged on its own version's counts.
 */
import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { STACK_OUTPUTS } from '../../contracts/resource-names';
import { SCORER_METRIC, SCORER_SERVICE, scorerMetricsNamespace } from '../../contracts/scorer-metrics';
import { type RequestFeature, scoringRequestSchema } from '../../lambdas/scorer/request-schema';
import { capture, models } from '../../contracts/s3-layout';
import { acknowledge, wildcardFinding } from '../compliance/acknowledge';
import { PlatformFunction } from '../constructs/platform-function';

/** Properties of {@link ServingStack}. */
export interface ServingStackProps extends StackProps {
  readonly envName: string;
  /** Dataset whose champion the scorer serves. */
  readonly dataset: string;
  /** The model's features (names and types; categories are fitted later), which the request model admits. */
  readonly features: readonly RequestFeature[];
  readonly vpc: ec2.IVpc;
  /** The execute-api interface endpoint, the only way in. */
  readonly executeApiEndpoint: ec2.IInterfaceVpcEndpoint;
  readonly modelsBucket: s3.IBucket;
  /** Export name of the models bucket ARN (IAM statements import it by name). */
  readonly modelsBucketArnExport: string;
  /** Where the scorer writes each request's capture (drift counts, predictions), under the dataset's prefix. */
  readonly captureBucket: s3.IBucket;
  readonly captureBucketArnExport: string;
  readonly captureKey: kms.IKey;
  /** Topic that receives the scorer alarms. */
  readonly alertTopic: sns.ITopic;
  readonly modelsKey: kms.IKey;
  readonly logsKey: kms.IKey;
  readonly memoryMb: number;
  readonly reservedConcurrency: number;
  readonly logRetentionDays: number;
  readonly retainLogs: boolean;
  readonly alarms: { readonly scorerErrorRatePercent: number; readonly scorerLatencyP99Ms: number };
}

/** The scorer and its private API. */
export class ServingStack extends Stack {
  readonly scorer: PlatformFunction;
  readonly liveAlias: lambda.Alias;
  readonly api: apigateway.RestApi;
  readonly errorRateAlarm: cloudwatch.Alarm;
  readonly latencyAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ServingStackProps) {
    super(scope, id, props);
    this.scorer = new PlatformFunction(this, 'Scorer', {
      entry: 'lambdas/scorer/handler.ts',
      description: `mlp ${props.envName}: XGBoost scorer`,
      vpc: props.vpc,
      memoryMb: props.memoryMb,
      reservedConcurrency: props.reservedConcurrency,
      timeout: Duration.seconds(10),
      logRetentionDays: props.logRetentionDays,
      logsKey: props.logsKey,
      retainLogs: props.retainLogs,
      // Cold starts are on the request path, and the scorer logs error names and messages, not stacks.
      sourceMaps: false,
      environment: {
        // Versions published by a retraining Deploy carry MODEL_URI; this one follows the champion pointer.
        CHAMPION_POINTER_URI: `s3://${props.modelsBucket.bucketName}/${models.championPointerKey(props.dataset)}`,
        CAPTURE_URI: `s3://${props.captureBucket.bucketName}/${capture.datasetPrefix(props.dataset)}`,
        POWERTOOLS_SERVICE_NAME: SCORER_SERVICE,
        POWERTOOLS_METRICS_NAMESPACE: scorerMetricsNamespace(props.envName),
      },
      compliance: {
        inlinePolicy:
          'CDK-generated policy of the scorer role: X-Ray writes, s3:GetObject on champion/ and kms:Decrypt via S3 ' +
          "on the models key, s3:PutObject on the dataset's capture prefix and kms:GenerateDataKey via S3 on the " +
          'capture key. Inline keeps it deleted with the role; no other principal uses it.',
        invocation:
          'The scorer is only invoked synchronously by API Gateway: failures return to the caller, nothing is ' +
          'queued asynchronously, so a dead-letter queue would never receive a message.',
      },
    });
    const fn = this.scorer.function;
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadChampionArtifacts',
        actions: ['s3:GetObject'],
        resources: [`${Fn.importValue(props.modelsBucketArnExport)}/${models.championRoot}*`],
      }),
    );
    acknowledge(
      fn.role!.node.findChild('DefaultPolicy'),
      [wildcardFinding(`${props.modelsBucketArnExport}/${models.championRoot}*`)],
      's3:GetObject only, on the champion/ prefix of the models bucket: the model, feature spec and baseline the ' +
        'live scorer serves; deployments replace the objects, so their names are not known at synth time.',
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DecryptModelsThroughS3',
        actions: ['kms:Decrypt'],
        resources: [props.modelsKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${this.region}.amazonaws.com` } },
      }),
    );
    const capturePrefix = `${Fn.importValue(props.captureBucketArnExport)}/${capture.datasetPrefix(props.dataset)}*`;
    fn.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'WriteCaptures', actions: ['s3:PutObject'], resources: [capturePrefix] }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'EncryptCapturesThroughS3',
        actions: ['kms:GenerateDataKey'],
        resources: [props.captureKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${this.region}.amazonaws.com` } },
      }),
    );
    acknowledge(
      fn.role!.node.findChild('DefaultPolicy'),
      [wildcardFinding(`${props.captureBucketArnExport}/${capture.datasetPrefix(props.dataset)}*`)],
      `s3:PutObject only, under ${capture.datasetPrefix(props.dataset)} (the dataset's prefix) of the capture bucket: one object per request, named by ` +
        'model version, hour and request id, which are not known at synth time.',
    );
    this.liveAlias = new lambda.Alias(this, 'Live', { aliasName: 'live', version: fn.currentVersion });

    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      encryptionKey: props.logsKey,
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.retainLogs ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.api = new apigateway.RestApi(this, 'ScoringApi', {
      description: `mlp ${props.envName}: private scoring API`,
      endpointConfiguration: {
        types: [apigateway.EndpointType.PRIVATE],
        vpcEndpoints: [props.executeApiEndpoint],
      },
      policy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: 'DenyOutsideExecuteApiEndpoint',
            effect: iam.Effect.DENY,
            principals: [new iam.AnyPrincipal()],
            actions: ['execute-api:Invoke'],
            resources: ['execute-api:/*'],
            conditions: { StringNotEquals: { 'aws:SourceVpce': props.executeApiEndpoint.vpcEndpointId } },
          }),
          new iam.PolicyStatement({
            sid: 'AllowAccountPrincipals',
            principals: [new iam.AccountPrincipal(this.account)],
            actions: ['execute-api:Invoke'],
            resources: ['execute-api:/*'],
          }),
        ],
      }),
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: 'live',
        tracingEnabled: true,
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        throttlingRateLimit: Math.max(10, props.reservedConcurrency * 50),
        throttlingBurstLimit: Math.max(20, props.reservedConcurrency * 100),
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
      },
      disableExecuteApiEndpoint: false,
    });
    // The same schema the handler enforces and the local server publishes at /openapi.json.
    const requestModel = this.api.addModel('ScoringRequest', {
      contentType: 'application/json',
      schema: {
        schema: apigateway.JsonSchemaVersion.DRAFT4,
        ...(scoringRequestSchema(props.features) as apigateway.JsonSchema),
      },
    });
    const scoreMethod = this.api.root
      .addResource('score')
      .addMethod('POST', new apigateway.LambdaIntegration(this.liveAlias), {
        authorizationType: apigateway.AuthorizationType.IAM,
        requestValidator: new apigateway.RequestValidator(this, 'BodyValidator', {
          restApi: this.api,
          validateRequestBody: true,
          validateRequestParameters: true,
        }),
        requestModels: { 'application/json': requestModel },
      });
    this.acknowledgeApiFindings(scoreMethod);

    const metric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/Lambda',
        metricName,
        statistic,
        period: Duration.minutes(1),
        dimensionsMap: { FunctionName: fn.functionName, Resource: `${fn.functionName}:live` },
      });
    // The handler answers failures with a 5xx rather than raising, so Lambda's Errors counts only crashes and
    // timeouts (which publish no metric of ours): the rate adds both to the requests the handler counted.
    const scorerMetric = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: scorerMetricsNamespace(props.envName),
        metricName,
        statistic: 'Sum',
        period: Duration.minutes(1),
        dimensionsMap: { service: SCORER_SERVICE },
      });
    const crashes = metric('Errors', 'Sum');
    this.errorRateAlarm = new cloudwatch.Alarm(this, 'ScorerErrorRate', {
      alarmDescription: `Scorer 5xx answers and crashes above ${props.alarms.scorerErrorRatePercent}% of requests`,
      metric: new cloudwatch.MathExpression({
        expression: 'IF(total > 0, 100 * failed / total, 0)',
        usingMetrics: {
          failed: new cloudwatch.MathExpression({
            expression: 'FILL(serverErrors, 0) + FILL(crashes, 0)',
            usingMetrics: { serverErrors: scorerMetric(SCORER_METRIC.serverErrors), crashes },
            period: Duration.minutes(1),
          }),
          total: new cloudwatch.MathExpression({
            expression: 'FILL(requests, 0) + FILL(crashes, 0)',
            usingMetrics: { requests: scorerMetric(SCORER_METRIC.requests), crashes },
            period: Duration.minutes(1),
          }),
        },
        period: Duration.minutes(1),
      }),
      threshold: props.alarms.scorerErrorRatePercent,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.latencyAlarm = new cloudwatch.Alarm(this, 'ScorerLatencyP99', {
      alarmDescription: `Scorer p99 duration above ${props.alarms.scorerLatencyP99Ms} ms`,
      metric: metric('Duration', 'p99'),
      threshold: props.alarms.scorerLatencyP99Ms,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    for (const alarm of [this.errorRateAlarm, this.latencyAlarm]) {
      alarm.addAlarmAction(new actions.SnsAction(props.alertTopic));
      alarm.addOkAction(new actions.SnsAction(props.alertTopic));
    }

    new CfnOutput(this, STACK_OUTPUTS.scoringUrl.output, { value: this.api.urlForPath('/score') });
    new CfnOutput(this, 'ScorerAlias', { value: this.liveAlias.functionArn });
  }

  /** Findings on the private API that its design answers: authorization, WAF, cache, client certificates. */
  private acknowledgeApiFindings(scoreMethod: apigateway.Method): void {
    const stage = this.api.deploymentStage;
    acknowledge(
      this.api.node.findChild('CloudWatchRole'),
      [
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      ],
      'The account-level role API Gateway itself assumes to write execution logs; AWS maintains its policy and ' +
        'it is required for the execution logging the compliance packs ask for.',
    );
    acknowledge(
      scoreMethod,
      ['AwsSolutions-COG4'],
      'Callers are bank services, not end users: the method uses IAM (SigV4) authorization, which the resource ' +
        'policy further limits to this account through the execute-api VPC endpoint.',
    );
    acknowledge(
      stage,
      ['AwsSolutions-APIG3', 'NIST.800.53.R5-APIGWAssociatedWithWAF', 'PCI.DSS.321-APIGWAssociatedWithWAF'],
      'Private API: reachable only through the execute-api interface endpoint from the VPC and the bank network, ' +
        'with IAM authorization and body validation; there is no internet-facing surface for a WAF to protect.',
    );
    acknowledge(
      stage,
      ['NIST.800.53.R5-APIGWCacheEnabledAndEncrypted', 'PCI.DSS.321-APIGWCacheEnabledAndEncrypted'],
      'Responses are per-request predictions for customer records: caching them would serve stale or another ' +
        "caller's scores and keep customer-derived data in a cache, so the stage cache stays off.",
    );
    acknowledge(
      stage,
      ['NIST.800.53.R5-APIGWSSLEnabled', 'PCI.DSS.321-APIGWSSLEnabled'],
      'Client certificates authenticate API Gateway to HTTP backends; this API integrates with Lambda through the ' +
        'AWS API (TLS, IAM), so there is no HTTP backend to present a certificate to.',
    );
  }
}
