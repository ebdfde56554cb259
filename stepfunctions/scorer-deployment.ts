/**
 * How Deploy moves the scorer to a new model. In AWS: the scorer function gets the new artifact in its
 * environment, a version is published, and the `live` alias sends a canary share of traffic to it; after the
 * canary window the shift completes, or rolls back when the scorer's alarms fire. Locally
 * (local/local-scorer-deployment.ts) the alias is a file that `mlp serve` follows.
 */
import type * as CloudWatchSdk from '@aws-sdk/client-cloudwatch';
import type * as LambdaSdk from '@aws-sdk/client-lambda';

/** The model a deployment installs. */
export interface DeployTarget {
  readonly modelVersion: string;
  readonly modelDataUrl: string;
  readonly featureSpecUri: string;
  readonly modelSha256: string;
}

/** What a started canary needs to complete or roll back. */
export interface CanaryHandle {
  readonly candidate: string;
  readonly previous: string | null;
}

/** A scorer that can be shifted to a new model. */
export interface ScorerDeployment {
  startCanary(target: DeployTarget): Promise<CanaryHandle>;
  /** Names of the scorer alarms currently firing. */
  firingAlarms(): Promise<string[]>;
  complete(handle: CanaryHandle): Promise<void>;
  rollback(handle: CanaryHandle): Promise<void>;
}

/** The deployed scorer: a Lambda function, its `live` alias and its alarms. */
export class LambdaAliasDeployment implements ScorerDeployment {
  constructor(
    private readonly functionName: string,
    private readonly aliasName: string,
    private readonly canaryPercent: number,
    private readonly alarmNames: readonly string[],
  ) {}

  private sdk?: Promise<typeof LambdaSdk & { client: LambdaSdk.LambdaClient }>;

  /** The Lambda client, loaded on first use. */
  private lambda() {
    this.sdk ??= import('@aws-sdk/client-lambda').then((m) => ({ ...m, client: new m.LambdaClient({}) }));
    return this.sdk;
  }

  /** Sends all of the alias's traffic to one version (the alias keeps its version when `version` is null). */
  private async route(version: string | null): Promise<void> {
    const sdk = await this.lambda();
    await sdk.client.send(
      new sdk.UpdateAliasCommand({
        FunctionName: this.functionName,
        Name: this.aliasName,
        ...(version ? { FunctionVersion: version } : {}),
        RoutingConfig: { AdditionalVersionWeights: {} },
      }),
    );
  }

  async startCanary(target: DeployTarget): Promise<CanaryHandle> {
    const sdk = await this.lambda();
    const { client } = sdk;
    const alias = await client.send(new sdk.GetAliasCommand({ FunctionName: this.functionName, Name: this.aliasName }));
    const current = await client.send(new sdk.GetFunctionConfigurationCommand({ FunctionName: this.functionName }));
    await client.send(
      new sdk.UpdateFunctionConfigurationCommand({
        FunctionName: this.functionName,
        Environment: {
          Variables: {
            ...current.Environment?.Variables,
            MODEL_URI: target.modelDataUrl,
            FEATURE_SPEC_URI: target.featureSpecUri,
            MODEL_VERSION: target.modelVersion,
            MODEL_SHA256: target.modelSha256,
          },
        },
      }),
    );
    await sdk.waitUntilFunctionUpdatedV2({ client, maxWaitTime: 300 }, { FunctionName: this.functionName });
    const published = await client.send(
      new sdk.PublishVersionCommand({ FunctionName: this.functionName, Description: target.modelVersion }),
    );
    await client.send(
      new sdk.UpdateAliasCommand({
        FunctionName: this.functionName,
        Name: this.aliasName,
        RoutingConfig: { AdditionalVersionWeights: { [published.Version!]: this.canaryPercent / 100 } },
      }),
    );
    return { candidate: published.Version!, previous: alias.FunctionVersion ?? null };
  }

  private cloudWatchSdk?: Promise<typeof CloudWatchSdk & { client: CloudWatchSdk.CloudWatchClient }>;

  /** The CloudWatch client, loaded on first use and kept with the deployment (one per container). */
  private cloudWatch() {
    this.cloudWatchSdk ??= import('@aws-sdk/client-cloudwatch').then((m) => ({
      ...m,
      client: new m.CloudWatchClient({}),
    }));
    return this.cloudWatchSdk;
  }

  async firingAlarms(): Promise<string[]> {
    const sdk = await this.cloudWatch();
    const response = await sdk.client.send(
      new sdk.DescribeAlarmsCommand({ AlarmNames: [...this.alarmNames], StateValue: 'ALARM' }),
    );
    return (response.MetricAlarms ?? []).map((a) => a.AlarmName!);
  }

  async complete(handle: CanaryHandle): Promise<void> {
    await this.route(handle.candidate);
  }

  async rollback(handle: CanaryHandle): Promise<void> {
    await this.route(handle.previous);
  }
}
