/**
 * One deployable environment (`dev`, `staging`, `prod`): a CDK Stage holding the platform's stacks in
 * dependency order — keys, network, data, audit, on-prem access, alerts, serving. Deploy with `cdk deploy '<env>/*'`.
 */
import { Stage, type StageProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config';
import packageJson from '../package.json';
import { ACKNOWLEDGE_FINDINGS_CONTEXT } from './compliance/acknowledge';
import { AlertsStack } from './stacks/alerts-stack';
import { AuditStack } from './stacks/audit-stack';
import { DataStack } from './stacks/data-stack';
import { KeysStack } from './stacks/keys-stack';
import { NetworkStack } from './stacks/network-stack';
import { OnPremAccessStack } from './stacks/onprem-access-stack';
import { RetrainingStack } from './stacks/retraining-stack';
import { MonitoringStack } from './stacks/monitoring-stack';
import { ServingStack } from './stacks/serving-stack';
import { xgboostImageUri } from './xgboost-image';
import { scorerMetricsNamespace } from '../contracts/scorer-metrics';

/** Properties of {@link PlatformStage}. */
export interface PlatformStageProps extends StageProps {
  /** Validated environment configuration (see `config/`). */
  readonly config: EnvironmentConfig;
  /**
   * Record the acknowledged compliance findings beside the resources they concern. Turned off only to audit
   * that every acknowledgement still matches a real finding. @default true
   */
  readonly acknowledgeFindings?: boolean;
}

/** The platform for one environment. */
export class PlatformStage extends Stage {
  public readonly keys: KeysStack;
  public readonly network: NetworkStack;
  public readonly data: DataStack;
  public readonly audit: AuditStack;
  public readonly onPremAccess: OnPremAccessStack;
  public readonly alerts: AlertsStack;
  public readonly serving: ServingStack;
  public readonly retraining: RetrainingStack;
  public readonly monitoring: MonitoringStack;

  constructor(scope: Construct, props: PlatformStageProps) {
    const { config } = props;
    super(scope, config.name, { env: { account: config.account, region: config.region } });
    if (props.acknowledgeFindings === false) this.node.setContext(ACKNOWLEDGE_FINDINGS_CONTEXT, false);
    const retain = config.retainData;
    const tags = { application: 'mlp', environment: config.name };

    this.keys = new KeysStack(this, 'Keys', { envName: config.name, retain, tags });
    this.network = new NetworkStack(this, 'Network', {
      vpcCidr: config.vpcCidr,
      availabilityZones: config.availabilityZones,
      onPremCidrs: config.onPremCidrs,
      logsKey: this.keys.auditKey,
      logRetentionDays: config.logRetentionDays,
      retain,
      tags,
    });
    this.data = new DataStack(this, 'Data', {
      envName: config.name,
      retain,
      keys: {
        landing: this.keys.landingKey,
        models: this.keys.modelsKey,
        capture: this.keys.captureKey,
        audit: this.keys.auditKey,
      },
      s3InterfaceEndpoint: this.network.s3InterfaceEndpoint,
      tags,
    });
    this.audit = new AuditStack(this, 'Audit', {
      envName: config.name,
      auditKey: this.keys.auditKey,
      accessLogsBucket: this.data.accessLogsBucket,
      dataEventBuckets: [this.data.landingBucket, this.data.curatedBucket, this.data.modelsBucket],
      logRetentionDays: config.logRetentionDays,
      retain,
      objectLock: config.auditObjectLock,
      tags,
    });
    this.onPremAccess = new OnPremAccessStack(this, 'OnPremAccess', {
      envName: config.name,
      caCertificatePem: config.onPrem.caCertificatePem,
      agentCertificateCommonName: config.onPrem.agentCertificateCommonName,
      datasets: config.onPrem.datasets,
      landingBucketArnExport: this.data.landingBucketArnExport,
      landingKey: this.keys.landingKey,
      tags,
    });
    this.onPremAccess.addStackDependency(this.data, 'imports the landing bucket ARN by export name');
    this.alerts = new AlertsStack(this, 'Alerts', {
      envName: config.name,
      notificationEmail: config.notificationEmail,
      key: this.keys.auditKey,
      tags,
    });
    this.serving = new ServingStack(this, 'Serving', {
      envName: config.name,
      dataset: config.retraining.dataset,
      features: [
        ...config.retraining.numericFeatures.map((name) => ({ name, type: 'numeric' as const })),
        ...config.retraining.categoricalFeatures.map((name) => ({ name, type: 'categorical' as const })),
      ],
      alertTopic: this.alerts.topic,
      modelsBucketArnExport: this.data.modelsBucketArnExport,
      captureBucket: this.data.captureBucket,
      captureBucketArnExport: this.data.captureBucketArnExport,
      captureKey: this.keys.captureKey,
      vpc: this.network.vpc,
      executeApiEndpoint: this.network.interfaceEndpoints.ExecuteApi,
      modelsBucket: this.data.modelsBucket,
      modelsKey: this.keys.modelsKey,
      logsKey: this.keys.auditKey,
      memoryMb: config.scorer.memoryMb,
      reservedConcurrency: config.scorer.reservedConcurrency,
      logRetentionDays: config.logRetentionDays,
      retainLogs: retain,
      alarms: config.alarms,
      tags,
    });
    this.serving.addStackDependency(this.data, 'imports the models bucket ARN by export name');
    this.retraining = new RetrainingStack(this, 'Retraining', {
      envName: config.name,
      retraining: config.retraining,
      training: { image: xgboostImageUri(config.region), instanceType: config.instanceTypes.training },
      logs: { retentionDays: config.logRetentionDays, retain },
      vpc: this.network.vpc,
      buckets: {
        landing: this.data.landingBucket,
        curated: this.data.curatedBucket,
        models: this.data.modelsBucket,
        audit: this.audit.auditBucket,
      },
      bucketArnExports: {
        landing: this.data.landingBucketArnExport,
        curated: this.data.curatedBucketArnExport,
        models: this.data.modelsBucketArnExport,
        audit: this.audit.auditBucketArnExport,
      },
      keys: { landing: this.keys.landingKey, models: this.keys.modelsKey, logs: this.keys.auditKey },
      alertTopic: this.alerts.topic,
      scorer: {
        function: this.serving.scorer.function,
        aliasName: this.serving.liveAlias.aliasName,
        alarmNames: [this.serving.errorRateAlarm.alarmName, this.serving.latencyAlarm.alarmName],
        metricsNamespace: scorerMetricsNamespace(config.name),
        maxCanaryErrorPercent: config.alarms.scorerErrorRatePercent,
      },
      codeVersion: packageJson.version,
      tags,
    });
    this.retraining.addStackDependency(this.data, 'imports the bucket ARNs by export name');
    this.retraining.addStackDependency(
      this.audit,
      "imports the audit bucket's ARN (the approval trail) by export name",
    );
    this.monitoring = new MonitoringStack(this, 'Monitoring', {
      config,
      retainLogs: retain,
      vpc: this.network.vpc,
      buckets: {
        capture: {
          name: this.data.captureBucket.bucketName,
          arnExport: this.data.captureBucketArnExport,
          key: this.keys.captureKey,
        },
        models: {
          name: this.data.modelsBucket.bucketName,
          arnExport: this.data.modelsBucketArnExport,
          key: this.keys.modelsKey,
        },
        curated: {
          name: this.data.curatedBucket.bucketName,
          arnExport: this.data.curatedBucketArnExport,
          key: this.keys.landingKey,
        },
        landing: {
          name: this.data.landingBucket.bucketName,
          arnExport: this.data.landingBucketArnExport,
          key: this.keys.landingKey,
        },
      },
      logsKey: this.keys.auditKey,
      alertTopic: this.alerts.topic,
      scorer: this.serving.scorer.function,
      stateMachine: this.retraining.stateMachine,
      tags,
    });
    this.monitoring.addStackDependency(this.data, 'imports the bucket ARNs by export name');
  }
}
