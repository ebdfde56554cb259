/**
 * How Deploy moves the scorer to a new model. In AWS: the scorer function gets the new artifact in its
 * environment, a version is published, and the `live` alias sends a canary share of traffic to it; after the
 * canary window the shift completes, or rolls back when the candidate's own traffic answered too many 5xx or
 * a scorer alarm fires. Locally (local/local-scorer-deployment.ts) the alias is a file that `mlp serve` follows.
 */
import type * as CloudWatchSdk from '@aws-sdk/client-cloudwatch';
import type * as LambdaSdk from '@aws-sdk/client-lambda';
import { SCORER_METRIC, SCORER_SERVICE, VERSION_DIMENSION } from '../contracts/scorer-metrics';

/** The model a deployment installs. */
export interface DeployTarget {
  readonly modelVersion: string;
  readonly modelDataUrl: string;
  readonly featureSpecUri: string;
  readonly modelSha256: string;
  /** The version's drift baseline, loaded with the model (absent: the scorer counts no drift). */
  readonly baselineUri?: string;
}

/** What a started canary needs to be judged, completed or rolled back. */
export interface CanaryHandle {
  /** The version taking the canary share. */
  readonly candidate: string;
  /** The version serving before, which a rollback restores (null: the alias had none). */
  readonly previous: string | null;
  /** When the candidate started taking traffic (ISO 8601): its own traffic is counted from then. */
  readonly startedAt: string;
}

/** A scorer that can be shifted to a new model. */
export interface ScorerDeployment {
  startCanary(target: DeployTarget): Promise<CanaryHandle>;
  /** Why the canary must not take all traffic (its own 5xx rate, firing scorer alarms); empty when it may. */
  canaryProblems(handle: CanaryHandle): Promise<string[]>;
  /** Sends all traffic to the candidate (idempotent). */
  complete(handle: CanaryHandle): Promise<void>;
  /** Sends all traffic back to the previous version (idempotent). */
  rollback(handle: CanaryHandle): Promise<void>;
  /** Takes any canary share off the alias, whichever version has it (a Deploy that failed part-way). */
  abandonCanary(): Promise<void>;
}

/** Settings of {@link LambdaAliasDeployment}. */
export interface LambdaAliasDeploymentOptions {
  readonly functionName: string;
  readonly aliasName: string;
  /** Share of the alias's traffic the candidate takes during the canary, in percent. */
  readonly canaryPercent: number;
  /** Function-wide scorer alarms: any of them in ALARM rolls a canary back. */
  readonly alarmNames: readonly string[];
  /** Namespace of the scorer's metrics (contracts/scorer-metrics.ts). */
  readonly metricsNamespace: string;
  /** Largest share of the candidate's own requests it may answer with a 5xx, in percent. */
  readonly maxCanaryErrorPercent: number;
  /** Clock (tests). */
  readonly now?: () => Date;
}

/** Reads the deployer's settings from the environment CDK sets (stepfunctions/lambda-handlers.ts). */
export function deploymentOptionsFromEnvironment(env: NodeJS.ProcessEnv = process.env): LambdaAliasDeploymentOptions {
  const required = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  const percent = (name: string) => {
    const value = Number(required(name));
    if (!Number.isFinite(value) || value < 0 || value > 100) throw new Error(`${name} is not a percentage`);
    return value;
  };
  return {
    functionName: required('SCORER_FUNCTION_NAME'),
    aliasName: required('SCORER_ALIAS'),
    canaryPercent: percent('CANARY_PERCENT'),
    alarmNames: JSON.parse(required('SCORER_ALARMS')) as string[],
    metricsNamespace: required('SCORER_METRICS_NAMESPACE'),
    maxCanaryErrorPercent: percent('CANARY_MAX_ERROR_PERCENT'),
  };
}

const MINUTE_MS = 60_000;

/** The deployed scorer: a Lambda function, its `live` alias and its alarms. */
export class LambdaAliasDeployment implements ScorerDeployment {
  constructor(private readonly options: LambdaAliasDeploymentOptions) {}

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

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
        FunctionName: this.options.functionName,
        Name: this.options.aliasName,
        ...(version ? { FunctionVersion: version } : {}),
        RoutingConfig: { AdditionalVersionWeights: {} },
      }),
    );
  }

  async startCanary(target: DeployTarget): Promise<CanaryHandle> {
    const sdk = await this.lambda();
    const { client } = sdk;
    const alias = await client.send(
      new sdk.GetAliasCommand({ FunctionName: this.options.functionName, Name: this.options.aliasName }),
    );
    const current = await client.send(
      new sdk.GetFunctionConfigurationCommand({ FunctionName: this.options.functionName }),
    );
    await client.send(
      new sdk.UpdateFunctionConfigurationCommand({
        FunctionName: this.options.functionName,
        Environment: {
          Variables: {
            ...current.Environment?.Variables,
            MODEL_URI: target.modelDataUrl,
            FEATURE_SPEC_URI: target.featureSpecUri,
            MODEL_VERSION: target.modelVersion,
            MODEL_SHA256: target.modelSha256,
            // Empty clears the previous version's: a version without a baseline counts no drift.
            BASELINE_URI: target.baselineUri ?? '',
          },
        },
      }),
    );
    await sdk.waitUntilFunctionUpdatedV2({ client, maxWaitTime: 300 }, { FunctionName: this.options.functionName });
    const published = await client.send(
      new sdk.PublishVersionCommand({ FunctionName: this.options.functionName, Description: target.modelVersion }),
    );
    await client.send(
      new sdk.UpdateAliasCommand({
        FunctionName: this.options.functionName,
        Name: this.options.aliasName,
        RoutingConfig: { AdditionalVersionWeights: { [published.Version!]: this.options.canaryPercent / 100 } },
      }),
    );
    return {
      candidate: published.Version!,
      previous: alias.FunctionVersion ?? null,
      startedAt: this.now().toISOString(),
    };
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

  async canaryProblems(handle: CanaryHandle): Promise<string[]> {
    const problems: string[] = [];
    const { requests, serverErrors, crashes } = await this.candidateTraffic(handle);
    const limit = this.options.maxCanaryErrorPercent;
    // Crashes and timeouts publish none of the handler's metrics: they count from Lambda's own, as failed requests.
    const failed = serverErrors + crashes;
    const total = requests + crashes;
    if (total > 0 && (100 * failed) / total > limit) {
      problems.push(
        `version ${handle.candidate} answered ${serverErrors} of its ${requests} requests with a 5xx and crashed ` +
          `on ${crashes} (${((100 * failed) / total).toFixed(1)}% failed, more than ${limit}%)`,
      );
    }
    problems.push(...(await this.firingAlarms()).map((name) => `${name} in alarm`));
    return problems;
  }

  /**
   * The candidate's own requests and 5xx answers since it started (the scorer's metrics under its
   * `FunctionVersion`), and its crashes (Lambda's Errors of the alias under `ExecutedVersion`).
   */
  private async candidateTraffic(
    handle: CanaryHandle,
  ): Promise<{ requests: number; serverErrors: number; crashes: number }> {
    const sdk = await this.cloudWatch();
    const started = Date.parse(handle.startedAt);
    if (!Number.isFinite(started)) throw new Error(`the canary's start time is not a date: ${handle.startedAt}`);
    const totals = { requests: 0, serverErrors: 0, crashes: 0 };
    const query = (
      id: keyof typeof totals,
      namespace: string,
      metricName: string,
      dimensions: Record<string, string>,
    ) => ({
      Id: id,
      MetricStat: {
        Metric: {
          Namespace: namespace,
          MetricName: metricName,
          Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
        },
        Period: 60,
        Stat: 'Sum',
      },
    });
    const version = { service: SCORER_SERVICE, [VERSION_DIMENSION]: handle.candidate };
    const executed = {
      FunctionName: this.options.functionName,
      Resource: `${this.options.functionName}:${this.options.aliasName}`,
      ExecutedVersion: handle.candidate,
    };
    let token: string | undefined;
    do {
      const page = await sdk.client.send(
        new sdk.GetMetricDataCommand({
          MetricDataQueries: [
            query('requests', this.options.metricsNamespace, SCORER_METRIC.requests, version),
            query('serverErrors', this.options.metricsNamespace, SCORER_METRIC.serverErrors, version),
            query('crashes', 'AWS/Lambda', 'Errors', executed),
          ],
          StartTime: new Date(Math.floor(started / MINUTE_MS) * MINUTE_MS),
          EndTime: new Date(Math.ceil(this.now().getTime() / MINUTE_MS) * MINUTE_MS),
          NextToken: token,
        }),
      );
      for (const result of page.MetricDataResults ?? []) {
        const id = result.Id as keyof typeof totals;
        if (id in totals) totals[id] += (result.Values ?? []).reduce((a, b) => a + b, 0);
      }
      token = page.NextToken;
    } while (token);
    return totals;
  }

  /** Names of the function-wide scorer alarms in ALARM. */
  private async firingAlarms(): Promise<string[]> {
    if (this.options.alarmNames.length === 0) return [];
    const sdk = await this.cloudWatch();
    const response = await sdk.client.send(
      new sdk.DescribeAlarmsCommand({ AlarmNames: [...this.options.alarmNames], StateValue: 'ALARM' }),
    );
    return (response.MetricAlarms ?? []).map((a) => a.AlarmName!);
  }

  async complete(handle: CanaryHandle): Promise<void> {
    await this.route(handle.candidate);
  }

  async rollback(handle: CanaryHandle): Promise<void> {
    await this.route(handle.previous);
  }

  async abandonCanary(): Promise<void> {
    await this.route(null);
  }
}
