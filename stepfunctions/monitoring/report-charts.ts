/**
 * The model report's charts: Vega-Lite specifications compiled by vega-lite and rendered by Vega's headless
 * view to SVG text when the report is built, so that the report needs no script, font or network to be read.
 * Every chart's data is inline: Vega's loader is never asked for anything.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { ModelReportData } from './model-report';

/** Fonts the SVG names: present on every desktop, none fetched. */
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
const WIDTH = 420;
const HEIGHT = 260;

const CONFIG = {
  font: FONT,
  background: 'white',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 11 },
  title: { fontSize: 13, anchor: 'start' as const },
};

/** A loader that loads nothing: charts carry their data, and the report must not reach out. */
const refuse = () => Promise.reject(new Error('report charts load no data'));
const NO_LOADER = { load: refuse, sanitize: refuse, http: refuse, file: refuse };

/** Renders one Vega-Lite specification to SVG markup. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile({ ...spec, config: { ...CONFIG, ...spec.config } } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), {
    renderer: 'none',
    loader: NO_LOADER as unknown as vega.Loader,
    logLevel: vega.Warn,
  });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const diagonal = {
  data: {
    values: [
      { x: 0, y: 0 },
      { x: 1, y: 1 },
    ],
  },
  mark: { type: 'line' as const, strokeDash: [4, 4], color: '#999' },
  encoding: {
    x: { field: 'x', type: 'quantitative' as const },
    y: { field: 'y', type: 'quantitative' as const },
  },
};

/** The ROC curve of the test split, with the chance diagonal. */
export function rocSpec(evaluation: NonNullable<ModelReportData['evaluation']>): TopLevelSpec | null {
  if (!evaluation.roc) return null;
  return {
    width: WIDTH,
    height: HEIGHT,
    title: `ROC curve on the test split (AUC ${evaluation.candidate.auc.toFixed(4)})`,
    layer: [
      {
        data: { values: evaluation.roc.map((p) => ({ x: p.falsePositiveRate, y: p.truePositiveRate })) },
        mark: { type: 'line', color: '#1f5fa8', strokeWidth: 2, interpolate: 'linear' },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: 'False positive rate', scale: { domain: [0, 1] } },
          y: { field: 'y', type: 'quantitative', title: 'True positive rate', scale: { domain: [0, 1] } },
          order: { field: 'x', type: 'quantitative' },
        },
      },
      diagonal,
    ],
  };
}

/** Observed default rate against mean prediction per calibration bin; point area by rows. */
export function calibrationSpec(evaluation: NonNullable<ModelReportData['evaluation']>): TopLevelSpec {
  const values = evaluation.candidate.calibration.map((b) => ({
    predicted: b.meanPredicted,
    observed: b.observedRate,
    rows: b.count,
  }));
  const encoding = {
    x: {
      field: 'predicted',
      type: 'quantitative' as const,
      title: 'Mean predicted probability',
      scale: { domain: [0, 1] },
    },
    y: { field: 'observed', type: 'quantitative' as const, title: 'Observed rate', scale: { domain: [0, 1] } },
  };
  return {
    width: WIDTH,
    height: HEIGHT,
    title: `Calibration on the test split (ECE ${evaluation.candidate.calibrationError.toFixed(4)})`,
    layer: [
      diagonal,
      { data: { values }, mark: { type: 'line', color: '#1f5fa8' }, encoding },
      {
        data: { values },
        mark: { type: 'circle', color: '#1f5fa8', opacity: 0.8 },
        encoding: { ...encoding, size: { field: 'rows', type: 'quantitative', title: 'Rows' } },
      },
    ],
  };
}

/** Test-split scores by outcome, stacked, in equal bins. */
export function scoreHistogramSpec(evaluation: NonNullable<ModelReportData['evaluation']>): TopLevelSpec | null {
  const histogram = evaluation.scoreHistogram;
  if (!histogram) return null;
  // Stacked by hand (negatives below positives): Vega-Lite's stack does not apply to bars given x and x2.
  const values = histogram.edges.slice(0, -1).flatMap((low, b) => {
    const high = histogram.edges[b + 1];
    const negatives = histogram.negatives[b];
    return [
      { low, high, outcome: 'negative (0)', from: 0, to: negatives },
      { low, high, outcome: 'positive (1)', from: negatives, to: negatives + histogram.positives[b] },
    ];
  });
  return {
    width: WIDTH,
    height: HEIGHT,
    title: 'Score histogram on the test split, by outcome',
    data: { values },
    mark: { type: 'bar', stroke: 'white', strokeWidth: 0.5 },
    encoding: {
      x: { field: 'low', type: 'quantitative', title: 'Score', scale: { domain: [0, 1] } },
      x2: { field: 'high' },
      y: { field: 'to', type: 'quantitative', title: 'Rows' },
      y2: { field: 'from' },
      color: {
        field: 'outcome',
        type: 'nominal',
        title: 'Outcome',
        scale: { domain: ['negative (0)', 'positive (1)'], range: ['#9ab8d8', '#c0392b'] },
      },
    },
  };
}

/** PSI per feature and of the score in the latest judged window, with the alarm's threshold. */
export function psiSpec(drift: NonNullable<ModelReportData['drift']>): TopLevelSpec | null {
  const run = drift.latest;
  const values = [
    ...run.features.filter((f) => f.psi !== null).map((f) => ({ name: f.name, psi: f.psi, drifted: f.drifted })),
    ...(run.scorePsi === null
      ? []
      : [{ name: '(score)', psi: run.scorePsi, drifted: run.scorePsi >= drift.psiThreshold }]),
  ];
  if (values.length === 0) return null;
  return {
    width: WIDTH,
    height: Math.max(120, values.length * 18),
    title: `PSI per feature, window ending ${run.at.slice(0, 16).replace('T', ' ')} UTC (${run.records} records)`,
    layer: [
      {
        data: { values },
        mark: { type: 'bar' },
        encoding: {
          y: { field: 'name', type: 'nominal', title: null, sort: '-x' },
          x: { field: 'psi', type: 'quantitative', title: 'PSI' },
          color: {
            field: 'drifted',
            type: 'nominal',
            title: 'Drifted',
            scale: { domain: [false, true], range: ['#7fa7cf', '#c0392b'] },
          },
        },
      },
      {
        data: { values: [{ threshold: drift.psiThreshold }] },
        mark: { type: 'rule', color: '#c0392b', strokeDash: [4, 3] },
        encoding: { x: { field: 'threshold', type: 'quantitative' } },
      },
    ],
  };
}

/** PSI over the recorded runs for the features that drifted most lately, and the score. */
export function psiHistorySpec(drift: NonNullable<ModelReportData['drift']>, top = 6): TopLevelSpec | null {
  const judged = drift.history.filter((r) => r.judged);
  if (judged.length < 2) return null;
  const ranked = [...drift.latest.features]
    .filter((f) => f.psi !== null)
    .sort((a, b) => b.psi! - a.psi!)
    .slice(0, top)
    .map((f) => f.name);
  const values = judged.flatMap((run) => [
    ...run.features
      .filter((f) => ranked.includes(f.name) && f.psi !== null)
      .map((f) => ({
        at: run.at,
        series: f.name,
        psi: f.psi,
      })),
    ...(run.scorePsi === null ? [] : [{ at: run.at, series: '(score)', psi: run.scorePsi }]),
  ]);
  if (values.length === 0) return null;
  return {
    width: WIDTH,
    height: HEIGHT,
    title: `PSI over the last ${judged.length} judged windows`,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'at', type: 'temporal', title: 'Window end (UTC)', timeUnit: 'utcyearmonthdatehoursminutes' },
          y: { field: 'psi', type: 'quantitative', title: 'PSI' },
          color: { field: 'series', type: 'nominal', title: 'Feature' },
        },
      },
      {
        data: { values: [{ threshold: drift.psiThreshold }] },
        mark: { type: 'rule', color: '#c0392b', strokeDash: [4, 3] },
        encoding: { y: { field: 'threshold', type: 'quantitative' } },
      },
    ],
  };
}

/** Estimated (from scores) and realised (from outcomes) AUC per cohort month. */
export function qualitySpec(quality: NonNullable<ModelReportData['quality']>): TopLevelSpec | null {
  const values = quality.cohorts.flatMap((c) => [
    ...(c.estimatedAuc === null ? [] : [{ cohort: c.cohort, series: 'estimated (CBPE)', auc: c.estimatedAuc }]),
    ...(c.realised ? [{ cohort: c.cohort, series: 'realised', auc: c.realised.auc }] : []),
  ]);
  if (values.length === 0) return null;
  // A little room around the figures, within [0, 1]: AUCs of one cohort would otherwise sit on the axis ends.
  const aucs = values.map((v) => v.auc);
  const domain = [Math.max(0, Math.min(...aucs) - 0.02), Math.min(1, Math.max(...aucs) + 0.02)];
  return {
    width: WIDTH,
    height: HEIGHT,
    title: 'Estimated and realised AUC by cohort month',
    data: { values },
    mark: { type: 'line', point: { size: 60 } },
    encoding: {
      x: { field: 'cohort', type: 'ordinal', title: 'Cohort (month scored)' },
      y: { field: 'auc', type: 'quantitative', title: 'AUC', scale: { domain } },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        scale: { domain: ['estimated (CBPE)', 'realised'], range: ['#e08e0b', '#1f5fa8'] },
      },
    },
  };
}

/** Splits per feature, most used first. */
export function importanceSpec(importance: NonNullable<ModelReportData['importance']>): TopLevelSpec | null {
  const values = importance.filter((f) => f.splits > 0);
  if (values.length === 0) return null;
  return {
    width: WIDTH,
    height: Math.max(120, values.length * 18),
    title: 'Feature importance: splits on each feature (XGBoost "weight")',
    data: { values },
    mark: { type: 'bar', color: '#1f5fa8' },
    encoding: {
      y: { field: 'feature', type: 'nominal', title: null, sort: '-x' },
      x: { field: 'splits', type: 'quantitative', title: 'Splits' },
    },
  };
}
