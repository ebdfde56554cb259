/**
 * The model card as one self-contained HTML file: tables only, styles inline, no script, nothing loaded (its
 * Content-Security-Policy forbids it), every value escaped, as the model report (monitoring/model-report-html.ts).
 */
import type { AttributeFairness } from '../../contracts/fairness';
import { escapeHtml } from '../escape-html';
import { htmlPage } from '../html-page';
import type { CardDecision, ModelCard } from './model-card';

const STYLE = `
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 62rem; color: #222;
  padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.9rem; }
th, td { text-align: left; padding: 0.2rem 0.8rem 0.2rem 0; border-bottom: 1px solid #eee; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.none { color: #777; font-style: italic; }
.status-Approved { color: #1e7d32; } .status-Rejected { color: #c0392b; } .status-PendingManualApproval { color: #b36b00; }
code { font-size: 0.85rem; word-break: break-all; }
`;

const e = (v: string | number | null | undefined) => (v === null || v === undefined ? '—' : escapeHtml(String(v)));
const num = (v: number | null | undefined, digits = 4) => (v === null || v === undefined ? '—' : v.toFixed(digits));
const code = (v: string | null | undefined) => (v ? `<code>${escapeHtml(v)}</code>` : '—');

function facts(id: string, rows: readonly (readonly [string, string])[]): string {
  return `<table id="${id}">${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${v}</td></tr>`).join('')}</table>`;
}

function decision(d: CardDecision | null): string {
  if (!d) return '<span class="none">none recorded</span>';
  return `${e(d.event)} by <span class="principal">${e(d.principal)}</span> at ${e(d.at)}${
    d.reason ? `: <span class="reason">${e(d.reason)}</span>` : ''
  }`;
}

function fairnessTable(a: AttributeFairness): string {
  const rows = a.groups
    .map(
      (g) =>
        `<tr><td>${e(g.group)}</td><td class="num">${g.rows}</td><td class="num">${num(g.approvalRate, 3)} ` +
        `[${num(g.approvalRateInterval.low, 3)}, ${num(g.approvalRateInterval.high, 3)}]</td>` +
        `<td class="num">${num(g.equalOpportunityRate, 3)}</td><td class="num">${num(g.calibrationGap, 3)}</td>` +
        `<td>${g.sufficient ? 'yes' : 'no'}</td></tr>`,
    )
    .join('');
  const ratio =
    a.approvalRatio === null
      ? 'approval ratio: fewer than two sufficient groups'
      : `approval ratio ${num(a.approvalRatio, 3)}` +
        (a.approvalRatioInterval
          ? ` [${num(a.approvalRatioInterval.low, 3)}, ${num(a.approvalRatioInterval.high, 3)}]`
          : '') +
        `; equal-opportunity difference ${num(a.equalOpportunityDifference, 3)}; max calibration gap ${num(a.maxCalibrationGap, 3)}`;
  return (
    `<h3>${e(a.attribute)}</h3><p>${ratio}; ${a.missing} row(s) without a value</p>` +
    `<table class="fairness"><tr><th>Group</th><th>Rows</th><th>Approval rate [CI]</th><th>Equal opportunity</th>` +
    `<th>Calibration gap</th><th>Compared</th></tr>${rows}</table>`
  );
}

/** The card as HTML text. */
export function renderModelCard(card: ModelCard): string {
  const { model, data, features, metrics, fairness, driftBaseline, governance } = card;
  const sections: string[] = [];
  sections.push(
    '<h2>Model</h2>' +
      facts('model', [
        ['Version', e(model.version)],
        ['Status', `<span class="status-${escapeHtml(model.status)}">${e(model.status)}</span>`],
        ['Status reasons', e(model.statusReasons.join('; ') || null)],
        ['Registered', e(model.registeredAt)],
        ['Deployed', e(model.deployedAt)],
        ['Artifact', `${code(model.artifact.uri)} sha256 ${code(model.artifact.sha256)}`],
        ['Training job', e(model.trainingJob)],
        ['Image', code(model.image)],
        ['Code version', e(model.codeVersion)],
        ['Trigger', e(model.trigger)],
      ]),
  );
  sections.push(`<h2>Intended use</h2><p id="intended-use">${e(card.intendedUse)}</p>`);
  sections.push(
    '<h2>Data</h2>' +
      facts('data', [
        ['Dataset', e(data.dataset)],
        ['Label', e(data.label)],
        ['Dataset version', code(data.datasetVersion)],
        ['As of', e(data.asOf)],
        [
          'Window',
          data.window ? e(`${data.window.column} from ${data.window.from} (${data.window.months} months)`) : '—',
        ],
        [
          'Label maturity',
          data.maturity ? e(`at least ${data.maturity.minAgeMonths} months (by ${data.maturity.matureBy})`) : '—',
        ],
        [
          'Rows',
          data.rows ? e(`${data.rows.train} train / ${data.rows.validation} validation / ${data.rows.test} test`) : '—',
        ],
        ['Manifests merged', e(data.manifests)],
        ['Extract', `${code(data.extract.manifestUri)} (run ${e(data.extract.runId)})`],
        ['Policy sha256', code(data.policySha256)],
        ['Pseudonym key id', e(data.pseudonymKeyId)],
        ['Agent version', e(data.agentVersion)],
      ]),
  );
  sections.push(
    `<h2>Features</h2><p>Spec ${code(features.specUri)} sha256 ${code(features.specSha256)}</p>` +
      (features.list.length
        ? `<table id="features"><tr><th>Feature</th><th>Type</th><th>Encoding</th><th>Categories</th></tr>${features.list
            .map(
              (f) =>
                `<tr><td>${e(f.name)}</td><td>${e(f.type)}</td><td>${e(f.encoding)}</td><td class="num">${e(f.categories)}</td></tr>`,
            )
            .join('')}</table>`
        : '<p class="none">The feature spec could not be read.</p>'),
  );
  sections.push(
    '<h2>Metrics (test split)</h2>' +
      (metrics
        ? `<table id="metrics"><tr><th>Metric</th><th>Value</th><th>${e(Math.round(metrics.aucInterval.confidence * 100))}% interval</th></tr>` +
          `<tr><td>AUC</td><td class="num" id="auc">${num(metrics.auc)}</td><td class="num" id="auc-interval">[${num(metrics.aucInterval.low)}, ${num(metrics.aucInterval.high)}]</td></tr>` +
          `<tr><td>Gini</td><td class="num">${num(metrics.gini)}</td><td></td></tr>` +
          `<tr><td>KS</td><td class="num">${num(metrics.ks)}</td><td></td></tr>` +
          `<tr><td>Brier score</td><td class="num">${num(metrics.brier)}</td><td></td></tr>` +
          `<tr><td>Calibration error (ECE)</td><td class="num">${num(metrics.calibrationError)}</td><td></td></tr>` +
          `<tr><td>Rows (positives / negatives)</td><td class="num">${metrics.rows} (${metrics.positives} / ${metrics.negatives})</td><td></td></tr>` +
          '</table>' +
          `<p class="sub">AUC interval: ${e(metrics.aucInterval.method)}.</p>` +
          (metrics.champion
            ? `<p>Champion then: ${e(metrics.champion.modelVersion)}, AUC ${num(metrics.champion.auc)}, Brier ${num(metrics.champion.brier)} on the same rows.</p>`
            : '<p>No champion to compare with.</p>')
        : '<p class="none">The evaluation could not be read.</p>'),
  );
  sections.push(
    '<h2>Fairness</h2>' +
      (fairness
        ? `<div id="fairness"><p>Approval below score ${num(fairness.approvalThreshold, 3)}; ${e(fairness.confidence * 100)}% intervals; ` +
          `groups of at least ${fairness.minGroupSize} rows compared; ${fairness.joined} of ${fairness.rows} test rows joined.</p>` +
          fairness.attributes.map(fairnessTable).join('') +
          (fairness.problems.length ? `<ul>${fairness.problems.map((p) => `<li>${e(p)}</li>`).join('')}</ul>` : '') +
          '</div>'
        : `<p class="none" id="fairness">${e(card.fairnessNote)}</p>`),
  );
  sections.push(
    '<h2>Drift baseline</h2>' +
      (driftBaseline
        ? `<p>${code(driftBaseline.uri)}: ${driftBaseline.rows} training rows, ${driftBaseline.features.length} features binned` +
          (driftBaseline.score
            ? `; score histogram of ${driftBaseline.score.counts.length} bins, mean ${num(driftBaseline.score.mean)}`
            : '; no score histogram') +
          '.</p>' +
          `<table id="baseline"><tr><th>Feature</th><th>Type</th><th>Bins</th><th>Missing</th></tr>${driftBaseline.features
            .map(
              (f) =>
                `<tr><td>${e(f.name)}</td><td>${e(f.type)}</td><td class="num">${f.bins}</td><td class="num">${f.missing}</td></tr>`,
            )
            .join('')}</table>`
        : '<p class="none">The drift baseline could not be read.</p>'),
  );
  sections.push(
    '<h2>Decisions</h2>' +
      facts('decisions', [
        ['Gate', decision(governance.gate)],
        ['Approval', decision(governance.approval)],
        ['Outcome', decision(governance.outcome)],
      ]) +
      (governance.trail.length
        ? `<table id="trail"><tr><th>#</th><th>Time</th><th>Event</th><th>By</th><th>Reason</th></tr>${governance.trail
            .map(
              (d) =>
                `<tr><td class="num">${d.sequence}</td><td>${e(d.at)}</td><td>${e(d.event)}</td><td>${e(d.principal)}</td><td>${e(d.reason)}</td></tr>`,
            )
            .join('')}</table>`
        : '<p class="none">The approval trail holds no entry about this version.</p>'),
  );
  return htmlPage({
    kind: 'Model card',
    subject: model.version,
    subtitle: `Environment ${card.environment} · generated ${card.generatedAt} · ${card.format}`,
    style: STYLE,
    sections,
    missing: card.missing,
  });
}
