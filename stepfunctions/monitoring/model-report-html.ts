/**
 * The model report as one self-contained HTML file: facts and tables as HTML, charts as inline SVG (rendered by
 * report-charts.ts when the report is built), styles inline. It holds no script and refers to nothing outside
 * itself, and its Content-Security-Policy forbids loading anything, so it opens the same inside a bank's network
 * as anywhere. Its figures as data: `mlp report --json`.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { ModelMetrics } from '../../contracts/model-metrics';
import type { ModelReportData } from './model-report';
import { escapeHtml } from '../escape-html';
import { htmlPage } from '../html-page';
import {
  calibrationSpec,
  importanceSpec,
  psiHistorySpec,
  psiSpec,
  qualitySpec,
  renderSvg,
  rocSpec,
  scoreHistogramSpec,
} from './report-charts';

export { escapeHtml };

const STYLE = `
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 62rem; color: #222;
  padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.9rem; }
th, td { text-align: left; padding: 0.2rem 0.8rem 0.2rem 0; border-bottom: 1px solid #eee; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5rem; }
figure { margin: 0; } figure svg { max-width: 100%; height: auto; }
.none { color: #777; font-style: italic; }
.status-Approved { color: #1e7d32; } .status-Rejected { color: #c0392b; } .status-PendingManualApproval { color: #b36b00; }
code { font-size: 0.85rem; word-break: break-all; }
`;

const number = (v: number | null | undefined, digits = 4) => (v === null || v === undefined ? '—' : v.toFixed(digits));

/** One chart as a figure, or a line saying why it is not there. */
async function figure(spec: TopLevelSpec | null, id: string, absent: string): Promise<string> {
  if (!spec) return `<p class="none" id="${id}">${escapeHtml(absent)}</p>`;
  return `<figure id="${id}">${await renderSvg(spec)}</figure>`;
}

function metricsTable(candidate: ModelMetrics, champion: { modelVersion: string; metrics: ModelMetrics } | null) {
  const rows: [string, (m: ModelMetrics) => string][] = [
    ['Rows', (m) => String(m.rows)],
    ['Positives', (m) => String(m.positives)],
    ['AUC', (m) => number(m.auc)],
    ['Gini', (m) => number(m.gini)],
    ['KS', (m) => number(m.ks)],
    ['Brier score', (m) => number(m.brier)],
    ['Calibration error (ECE)', (m) => number(m.calibrationError)],
  ];
  const head = `<tr><th>Test split</th><th>This version</th>${
    champion ? `<th>Champion then (${escapeHtml(champion.modelVersion)})</th>` : ''
  }</tr>`;
  const body = rows
    .map(
      ([label, f]) =>
        `<tr><td>${label}</td><td class="num">${f(candidate)}</td>${
          champion ? `<td class="num">${f(champion.metrics)}</td>` : ''
        }</tr>`,
    )
    .join('');
  return `<table id="metrics">${head}${body}</table>`;
}

function factsTable(data: ModelReportData): string {
  const { model } = data;
  const facts: [string, string][] = [
    ['Status', `<span class="status-${escapeHtml(model.status)}">${escapeHtml(model.status)}</span>`],
    ['Registered', escapeHtml(model.createdAt)],
    ...(model.deployedAt ? ([['Deployed', escapeHtml(model.deployedAt)]] as [string, string][]) : []),
    ...(model.approver ? ([['Approver', escapeHtml(model.approver)]] as [string, string][]) : []),
    ...(model.statusReasons ? ([['Decision', escapeHtml(model.statusReasons.join('; '))]] as [string, string][]) : []),
    ...Object.entries(model.lineage).map(
      ([k, v]) => [escapeHtml(k), `<code>${escapeHtml(v)}</code>`] as [string, string],
    ),
  ];
  return `<table id="facts">${facts.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>`;
}

function qualityTable(quality: NonNullable<ModelReportData['quality']>): string {
  const rows = quality.cohorts
    .map(
      (c) =>
        `<tr><td>${escapeHtml(c.cohort)}</td><td class="num">${c.predictions}</td><td class="num">${number(c.estimatedAuc)}</td>` +
        `<td class="num">${c.labelled}</td><td class="num">${number(c.realised?.auc)}</td>` +
        `<td class="num">${number(c.realised?.brier)}</td><td>${escapeHtml(c.pending ?? '')}</td></tr>`,
    )
    .join('');
  return (
    `<table id="quality-table"><tr><th>Cohort</th><th>Predictions</th><th>Estimated AUC</th><th>Labelled</th>` +
    `<th>Realised AUC</th><th>Brier</th><th>Pending</th></tr>${rows}</table>`
  );
}

/** Which window the drift charts rank by, and what became of the runs after it. */
function driftLine(drift: NonNullable<ModelReportData['drift']>): string {
  const { latest, history } = drift;
  if (!latest.judged) {
    return `no window judged in the ${history.length} latest run(s) (the latest had ${latest.records} records, too few).`;
  }
  const after = history.length - 1 - history.indexOf(latest);
  return (
    `latest judged window to ${escapeHtml(latest.at)}, max PSI ${number(latest.maxPsi)}` +
    (after ? `; ${after} later window(s) had too few records to judge.` : '.')
  );
}

/** The report of `data` as HTML text. */
export async function renderModelReport(data: ModelReportData): Promise<string> {
  const { model, evaluation, drift, quality, importance } = data;
  const sections: string[] = [];
  sections.push(`<h2>Model</h2>${factsTable(data)}`);

  if (evaluation) {
    sections.push(
      `<h2>Evaluation</h2>${metricsTable(evaluation.candidate, evaluation.champion)}<div class="charts">` +
        (await figure(rocSpec(evaluation), 'roc', 'No ROC curve recorded for this evaluation.')) +
        (await figure(calibrationSpec(evaluation), 'calibration', '')) +
        (await figure(scoreHistogramSpec(evaluation), 'score-histogram', 'No score histogram recorded.')) +
        '</div>',
    );
  } else {
    sections.push('<h2>Evaluation</h2><p class="none">No evaluation could be read.</p>');
  }

  sections.push(
    '<h2>Feature importance</h2>' +
      (importance
        ? await figure(importanceSpec(importance), 'importance', 'The model makes no split.')
        : '<p class="none">The artifact could not be read.</p>'),
  );

  if (drift) {
    sections.push(
      `<h2>Drift in production</h2><p>Alarm threshold: PSI ≥ ${drift.psiThreshold}; ${driftLine(drift)}</p>` +
        '<div class="charts">' +
        (await figure(psiSpec(drift), 'psi', 'The latest window judged no feature.')) +
        (await figure(psiHistorySpec(drift), 'psi-history', 'Fewer than two judged windows: no history yet.')) +
        '</div>',
    );
  } else {
    sections.push('<h2>Drift in production</h2><p class="none">No drift report of this version yet.</p>');
  }

  if (quality) {
    sections.push(
      `<h2>Quality in production</h2><p>From the quality report of ${escapeHtml(quality.at ?? 'an unknown time')}: ` +
        'estimated AUC from the captured scores (confidence-based performance estimation, valid while the model ' +
        'stays calibrated), realised AUC once outcomes arrive.</p>' +
        (await figure(qualitySpec(quality), 'quality', 'No cohort has an AUC yet.')) +
        qualityTable(quality),
    );
  } else {
    sections.push('<h2>Quality in production</h2><p class="none">No quality report of this version yet.</p>');
  }

  return htmlPage({
    kind: 'Model report',
    subject: model.version,
    subtitle: `Environment ${data.environment} · generated ${data.generatedAt}`,
    style: STYLE,
    sections,
    missing: data.missing,
  });
}
