/** `mlp monitor` and `mlp drift`. */
import { loadEnvironment } from '../../config';
import { models, s3Uri } from '../../contracts/s3-layout';
import { parseFeatureSpec } from '../../lambdas/features/feature-spec';
import { RecordError, Vectorizer } from '../../lambdas/features/vectorizer';
import { type DriftBaseline, readDriftBaseline } from '../../lambdas/monitoring/drift-baseline';
import { DriftCounter, mergeCounts } from '../../lambdas/monitoring/drift-counts';
import { type DriftReport, driftReport } from '../../lambdas/monitoring/drift-report';
import { LocalArtifactStore } from '../../local/local-artifact-store';
import { localLayout, localSettings, mlpHome } from '../../local/local-home';
import { LocalModelRegistry } from '../../local/local-model-registry';
import { runLocalMonitor } from '../../local/local-monitoring';
import { runLocalRetraining } from '../../local/local-retraining';
import { trainingPythonProblem } from '../../local/local-training';
import { retrainingOutcome } from '../../stepfunctions/retraining-outcome';
import { CommandError, UsageError } from '../../terminal/errors';
import { CommandOutput } from '../../terminal/output';
import { namedRecords, openInput } from './csv-records';
import { outcomeLines } from './retraining-report';
import type { QualityReport } from '../../stepfunctions/monitoring/quality';

/** Options of `mlp monitor`. */
export interface MonitorOptions {
  readonly local?: string | true;
  readonly retrain?: boolean;
  readonly json?: boolean;
}

/** Options of `mlp drift`. */
export interface DriftOptions {
  readonly model: string;
  readonly input: string;
  readonly local?: string | true;
  readonly json?: boolean;
}

const envOf = (local: string | true | undefined) => loadEnvironment(typeof local === 'string' ? local : 'dev');

/** Lines of a report: one per feature, then the score and the verdict. */
function reportLines(report: DriftReport): string[] {
  const psi = (v: number | null) => (v === null ? '—' : v.toFixed(4));
  const lines = [
    `${report.modelVersion}: ${report.records} records` +
      (report.judged ? '' : ` (fewer than ${report.minRecords}: not judged)`),
  ];
  for (const f of [...report.features, ...(report.score ? [report.score] : [])]) {
    const js = f.jensenShannon === null ? '' : `  JS ${f.jensenShannon.toFixed(4)}`;
    lines.push(`  ${f.status === 'drifted' ? '!' : ' '} ${f.name.padEnd(24)} PSI ${psi(f.psi)}${js}  ${f.status}`);
  }
  if (report.unknownFeatures.length) lines.push(`  not in the baseline: ${report.unknownFeatures.join(', ')}`);
  lines.push(
    report.drifted.length
      ? `drifted (PSI >= ${report.psiThreshold}): ${report.drifted.join(', ')}`
      : report.judged
        ? `no feature drifted (PSI < ${report.psiThreshold})`
        : 'nothing judged',
  );
  return lines;
}

/** Lines of a quality report: one per version and cohort month. */
function qualityLines(report: QualityReport): string[] {
  const f = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v.toFixed(4));
  return report.cohorts.map(
    (c) =>
      `quality ${c.modelVersion} ${c.cohort}: ${c.predictions} predictions, estimated AUC ${f(c.estimatedAuc)}, ` +
      (c.realised
        ? `realised AUC ${f(c.realised.auc)} Brier ${f(c.realised.brier)} (${c.labelled} labelled)`
        : `realised pending: ${c.pending}`),
  );
}

/** `mlp monitor`. */
export async function monitor(options: MonitorOptions): Promise<void> {
  const config = envOf(options.local);
  const home = mlpHome();
  if (options.retrain) {
    const problem = trainingPythonProblem();
    if (problem) throw new UsageError(problem);
  }
  const { drift, quality, alarm } = await runLocalMonitor({ config, home });
  let retraining: ReturnType<typeof retrainingOutcome> | null = null;
  if (options.retrain && alarm.entered) {
    const run = await runLocalRetraining({ config, home, input: { trigger: 'drift' } });
    retraining = retrainingOutcome(run.status, run.output, run.error);
  }
  const { report: _report, ...summary } = drift;
  const result = {
    environment: config.name,
    ...summary,
    report: drift.report,
    quality: quality.report,
    qualityProblems: quality.problems,
    alarm,
    retraining,
  };
  new CommandOutput(options).result(result, {
    human: (r) => [
      ...(r.report ? reportLines(r.report) : [`nothing judged: ${r.skipped}`]),
      ...(r.unreadable ? [`${r.unreadable} capture(s) unreadable, set aside: ${r.problems[0]}`] : []),
      ...qualityLines(quality.report),
      ...r.qualityProblems.map((p) => `quality: ${p}`),
      `${alarm.name}: ${alarm.state}${alarm.entered ? ' (entered now)' : ''}; MaxPsi of the last runs: ` +
        alarm.periods.map((p) => (p === null ? '—' : p.toFixed(3))).join(', '),
      ...(retraining ? ['retraining started by the drift alarm:', ...outcomeLines(retraining)] : []),
    ],
  });
}

/** `mlp drift`. */
export async function drift(options: DriftOptions): Promise<void> {
  const config = envOf(options.local);
  const layout = localLayout(mlpHome(), config.name);
  const versions = await new LocalModelRegistry(layout.registry).list();
  const record = versions.find((v) => v.modelVersion === options.model);
  if (!record) {
    throw new UsageError(
      `no model version ${options.model} in the local ${config.name} registry` +
        (versions.length ? `; it holds ${versions.map((v) => v.modelVersion).join(', ')}` : '; it holds none yet'),
    );
  }
  const store = new LocalArtifactStore(layout.objects);
  const settings = localSettings(config);
  const baseline = await versionBaseline(store, settings.buckets.models, config.retraining.dataset, record);
  const spec = parseFeatureSpec(JSON.parse(Buffer.from(await store.get(record.metadata.featureSpecUri)).toString()));
  const vectorizer = new Vectorizer(spec);
  const counter = new DriftCounter(spec, baseline, options.model);
  const stream = await openInput(options.input).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`${options.input} cannot be read (${error.code ?? error.message})`);
  });
  const vectors = new Float32Array(vectorizer.width);
  const raw = new Float64Array(spec.features.length);
  for await (const { record: row, at } of namedRecords(spec, stream, options.input)) {
    try {
      vectorizer.fill(row, 0, vectors, 0, raw, 0);
    } catch (error) {
      if (!(error instanceof RecordError)) throw error;
      throw new UsageError(`${options.input} line ${at}: ${error.message.replace(/^records\[0\]\.?/, '')}`);
    }
    counter.addRows(raw, 1);
  }
  const report = driftReport(baseline, mergeCounts(options.model, [counter.take()]), {
    psiThreshold: config.alarms.driftPsi,
    minRecords: config.alarms.driftMinRecords,
  });
  new CommandOutput(options).result(report, { human: reportLines });
}

/**
 * A registered version's baseline: the served copy (stamped with the version) once deployed, else the one
 * Evaluate wrote for its training job. The score's histogram is left out: a file of records has no scores.
 */
async function versionBaseline(
  store: LocalArtifactStore,
  modelsBucket: string,
  dataset: string,
  record: { readonly modelVersion: string; readonly metadata: Readonly<Record<string, string>> },
): Promise<DriftBaseline> {
  const job = record.metadata.trainingJobName;
  const candidates = [
    s3Uri(modelsBucket, models.servingKeys(dataset, record.modelVersion).baseline),
    ...(job ? [s3Uri(modelsBucket, models.baselineKey(dataset, job))] : []),
  ];
  for (const uri of candidates) {
    if (!(await store.exists(uri))) continue;
    const { score: _score, ...features } = readDriftBaseline(await store.get(uri), uri);
    return { ...features, modelVersion: record.modelVersion };
  }
  throw new CommandError(
    `${record.modelVersion} has no drift baseline`,
    'it was trained before baselines travelled with the model: retrain, then judge the new version',
  );
}
