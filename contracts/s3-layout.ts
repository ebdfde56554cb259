/**
 * Where everything lives in the platform's buckets, for every reader and writer: the agent, the retraining
 * steps, the scorer, the IAM grants and the event rules of the CDK app, and the local stand-in. Keys are given
 * without a bucket; `s3Uri` joins the two.
 *
 * ```
 * landing  landing/<dataset>/<run>/part-00000.csv.gz … , landing/<dataset>/<run>/_manifest.json (written last)
 * curated  <dataset>/table/current.json (which table is current), <dataset>/table/<kid>/_log.json (the merged
 *          manifests, in order: the commit log), <dataset>/table/<kid>/<seq>-<run>.parquet (the row versions each
 *          manifest added); <dataset>/<dataset version>/train/train.csv, validation/validation.csv,
 *          test/records.jsonl, feature-spec.json, baseline.json, training-set.json (its lineage);
 *          _athena/results/ (the Athena workgroup's query results), _athena/unload/<dataset>/<version>/<execution>/
 *          (a training set Athena selected, as Parquet): scratch, expired after a week
 * models   <dataset>/training/<job>/output/model.tar.gz (SageMaker's output), <dataset>/evaluations/<job>.json,
 *          <dataset>/evaluations/<job>.baseline.json, <dataset>/cards/<group>-<n>.json and .html (a version's
 *          model card, rewritten at the end of its story), champion/<dataset>/champion.json (the pointer),
 *          champion/<dataset>/<version>/model.tar.gz, feature-spec.json and baseline.json (what the scorer
 *          serves: the only prefix it may read)
 * capture  <dataset>/<version>/<yyyy-mm-dd>/<hh>/<time>-<request>.json (one per scoring request: the drift
 *          counts of its records, its predictions with their pseudonymous keys; never a feature value),
 *          _monitoring/<dataset>/drift/<version>/<run time>.json, _monitoring/<dataset>/quality/<run time>.json
 *          (the monitoring jobs' reports); captures expire after 430 days
 * audit    approvals/<env>/<sequence>.json (the approval trail: one object per gate or human decision, hash-chained,
 *          created only if absent; Object Lock in prod), beside CloudTrail's logs
 * ```
 */

/** `s3://bucket/key`. */
export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** Name of the manifest object of an extract run. */
export const MANIFEST_FILE = '_manifest.json';

/** The landing bucket: what the on-prem agent uploads. */
export const landing = {
  /** Prefix of a dataset's extracts (the agent's role may write only under it). */
  datasetPrefix: (dataset: string) => `landing/${dataset}/`,
  /** Prefix of one extract run. */
  runPrefix: (dataset: string, runId: string) => `landing/${dataset}/${runId}/`,
  /** Key of a run's part `index` (0-based). */
  partKey: (dataset: string, runId: string, index: number) =>
    `landing/${dataset}/${runId}/part-${String(index).padStart(5, '0')}.csv.gz`,
  /** Key of a run's manifest. */
  manifestKey: (dataset: string, runId: string) => `landing/${dataset}/${runId}/${MANIFEST_FILE}`,
  /** True for the key of a manifest of `dataset`. */
  isManifestKey: (key: string, dataset: string) =>
    key.startsWith(`landing/${dataset}/`) && key.endsWith(`/${MANIFEST_FILE}`),
  /** The pattern of a dataset's manifest keys, as an S3 event filter's wildcard. */
  manifestWildcard: (dataset: string) => `landing/${dataset}/*/${MANIFEST_FILE}`,
} as const;

/** The curated bucket: what Prepare makes of a dataset version. */
export const curated = {
  /** Prefix of everything prepared from one dataset version. */
  versionPrefix: (dataset: string, datasetVersion: string) => `${dataset}/${datasetVersion}/`,
  /** Keys of a dataset version's channels, test records, feature spec and drift baseline. */
  keys: (dataset: string, datasetVersion: string) => {
    const base = `${dataset}/${datasetVersion}`;
    return {
      trainPrefix: `${base}/train/`,
      train: `${base}/train/train.csv`,
      validationPrefix: `${base}/validation/`,
      validation: `${base}/validation/validation.csv`,
      testRecords: `${base}/test/records.jsonl`,
      featureSpec: `${base}/feature-spec.json`,
      baseline: `${base}/baseline.json`,
      trainingSet: `${base}/training-set.json`,
    };
  },
  /** Prefix of a dataset's curated tables (one per pseudonymisation key id). */
  tablesPrefix: (dataset: string) => `${dataset}/table/`,
  /** Key of the pointer naming a dataset's current table. */
  currentTableKey: (dataset: string) => `${dataset}/table/current.json`,
  /** Prefix of the table of a key id. */
  tablePrefix: (dataset: string, kid: string) => `${dataset}/table/${kid}/`,
  /** Key of a table's commit log. */
  tableLogKey: (dataset: string, kid: string) => `${dataset}/table/${kid}/_log.json`,
  /** Key of the Parquet file of the row versions the `seq`th merged manifest (run `runId`) added. */
  tableFileKey: (dataset: string, kid: string, seq: number, runId: string) =>
    `${dataset}/table/${kid}/${String(seq).padStart(6, '0')}-${runId}.parquet`,
  /** Prefix of a dataset's prepared versions (Prepare's grant). */
  datasetPrefix: (dataset: string) => `${dataset}/`,
  /** Prefix of Athena's scratch: query results and unloaded training sets (no dataset name starts with `_`). */
  athenaPrefix: '_athena/',
  /** Where the Athena workgroup writes query results. */
  athenaResultsPrefix: '_athena/results/',
  /** Prefix of a dataset's unloaded training sets. */
  athenaUnloadDatasetPrefix: (dataset: string) => `_athena/unload/${dataset}/`,
  /** Where Athena unloads the training set of a dataset version for one execution (UNLOAD needs an empty prefix). */
  athenaUnloadPrefix: (dataset: string, datasetVersion: string, execution: string) =>
    `_athena/unload/${dataset}/${datasetVersion}/${execution}/`,
} as const;

/** The models bucket: training output, evaluations, and what the scorer serves. */
export const models = {
  /** Prefix of a dataset's training output and evaluations. */
  datasetPrefix: (dataset: string) => `${dataset}/`,
  /** Where SageMaker writes `<job>/output/model.tar.gz` (the training job's S3OutputPath). */
  trainingPrefix: (dataset: string) => `${dataset}/training/`,
  /** Key of a candidate's evaluation. */
  evaluationKey: (dataset: string, trainingJobName: string) => `${dataset}/evaluations/${trainingJobName}.json`,
  /** Key of a candidate's drift baseline: the training split's bins and the candidate's score histogram. */
  baselineKey: (dataset: string, trainingJobName: string) => `${dataset}/evaluations/${trainingJobName}.baseline.json`,
  /** Prefix of a dataset's evaluations. */
  evaluationsPrefix: (dataset: string) => `${dataset}/evaluations/`,
  /** Prefix of a dataset's model cards (the deployer's grant). */
  cardsPrefix: (dataset: string) => `${dataset}/cards/`,
  /** Keys of a version's model card (`mlp-dev-loans/3` → `loans/cards/mlp-dev-loans-3.json` and `.html`). */
  cardKeys: (dataset: string, modelVersion: string) => {
    const base = `${dataset}/cards/${versionSegment(modelVersion)}`;
    return { json: `${base}.json`, html: `${base}.html` };
  },
  /** Prefix of everything the scorer serves: the only prefix it may read. */
  championRoot: 'champion/',
  /** Prefix of a dataset's served artifacts and pointer. */
  championPrefix: (dataset: string) => `champion/${dataset}/`,
  /** Key of the champion pointer: which registered version the scorer serves. */
  championPointerKey: (dataset: string) => `champion/${dataset}/champion.json`,
  /**
   * Keys of the copies a version is served from (`mlp-dev-loans/3` → `champion/loans/mlp-dev-loans-3/…`): the
   * model, its feature spec and its drift baseline (stamped with the version).
   */
  servingKeys: (dataset: string, modelVersion: string) => {
    const base = `champion/${dataset}/${versionSegment(modelVersion)}`;
    return {
      model: `${base}/model.tar.gz`,
      featureSpec: `${base}/feature-spec.json`,
      baseline: `${base}/baseline.json`,
    };
  },
} as const;

/** A model version as one key segment or file name (`mlp-dev-loans/3` → `mlp-dev-loans-3`). */
export function versionSegment(modelVersion: string): string {
  return modelVersion.replace(/\//g, '-');
}

/** A moment as a key segment (`20261202T101500123Z`). */
function timeSegment(at: Date): string {
  return at.toISOString().replace(/[-:.]/g, '');
}

/** The capture bucket: what the scorer saw, aggregated (drift counts) and its predictions. */
export const capture = {
  /** Prefix of a dataset's captures (the scorer's CAPTURE_URI points here). */
  datasetPrefix: (dataset: string) => `${dataset}/`,
  /** Prefix of one hour's captures of a version below the dataset's prefix (by the UTC hour `at` falls in). */
  hourPrefix: (modelVersion: string, at: Date) => {
    const iso = at.toISOString();
    return `${versionSegment(modelVersion)}/${iso.slice(0, 10)}/${iso.slice(11, 13)}/`;
  },
  /** Key of one request's capture below the dataset's prefix: by version, day and hour of `at`. */
  documentKey: (modelVersion: string, at: Date, requestId: string) =>
    `${capture.hourPrefix(modelVersion, at)}${timeSegment(at)}-${requestId.replace(/[^A-Za-z0-9-]/g, '_').slice(0, 64)}.json`,
  /** Prefix of a dataset's drift reports (the drift job's grant): outside every dataset's prefix. */
  driftReportsPrefix: (dataset: string) => `_monitoring/${dataset}/drift/`,
  /** Prefix of a dataset's quality reports (the quality job's grant). */
  qualityReportsPrefix: (dataset: string) => `_monitoring/${dataset}/quality/`,
  /** Prefix of one version's drift reports. */
  versionDriftReportsPrefix: (dataset: string, modelVersion: string) =>
    `${capture.driftReportsPrefix(dataset)}${versionSegment(modelVersion)}/`,
  /** Key of a drift report, by version and the time of its run. */
  driftReportKey: (dataset: string, modelVersion: string, at: Date) =>
    `${capture.versionDriftReportsPrefix(dataset, modelVersion)}${timeSegment(at)}.json`,
  /** Key of a quality report, by the time of its run. */
  qualityReportKey: (dataset: string, at: Date) => `${capture.qualityReportsPrefix(dataset)}${timeSegment(at)}.json`,
} as const;

/** The audit bucket: beside CloudTrail's logs, the approval trail. */
export const audit = {
  /** Prefix of an environment's approval trail (stepfunctions/governance/approval-trail.ts). */
  approvalTrailPrefix: (envName: string) => `approvals/${envName}/`,
};
