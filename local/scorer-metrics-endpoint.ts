/**
 * Prometheus metrics of the local scoring service (`GET /metrics`, prom-client): requests by status, the
 * latency histogram, records scored, and the drift of the current window — PSI per feature and of the score of
 * the served version, over the records scored since the top of the hour (UTC), judged as the drift job judges
 * (no PSI below the minimum count). A Grafana dashboard for them is `local/grafana/mlp-scorer.json`.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CaptureDocument, CaptureSink } from '../lambdas/monitoring/capture';
import { type MergedCounts, mergeCounts } from '../lambdas/monitoring/drift-counts';
import { driftReport, type DriftOptions } from '../lambdas/monitoring/drift-report';
import type { ScoringModel } from '../lambdas/scorer/scoring-model';

const HOUR_MS = 3_600_000;

/** The metrics of one server, and the hooks that feed them. */
export class ScorerMetricsEndpoint {
  readonly registry = new Registry();
  private readonly requests: Counter<'status'>;
  private readonly latency: Histogram;
  private readonly records: Counter;
  /** The served version's counts since the top of the hour, merged as they arrive. */
  private window: { hour: number; counts: MergedCounts } | undefined;

  constructor(
    private readonly model: () => Promise<ScoringModel>,
    private readonly drift: DriftOptions,
    private readonly now: () => number = Date.now,
  ) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'mlp_scorer_requests_total',
      help: 'Scoring requests answered, by HTTP status',
      labelNames: ['status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'mlp_scorer_request_duration_seconds',
      help: 'Time to answer a scoring request',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.records = new Counter({ name: 'mlp_scorer_records_total', help: 'Records scored', registers });
    const windowRecords: Gauge<'model_version'> = new Gauge({
      name: 'mlp_scorer_window_records',
      help: 'Records of the served version counted since the top of the hour',
      labelNames: ['model_version'],
      registers,
      collect: () => {
        const w = this.current();
        windowRecords.reset();
        if (w) windowRecords.set({ model_version: w.counts.modelVersion }, Number(w.counts.records));
      },
    });
    const psi: Gauge<'feature' | 'model_version'> = new Gauge({
      name: 'mlp_scorer_feature_psi',
      help: 'PSI of the current window against the served version\'s baseline, per feature (and feature="score")',
      labelNames: ['feature', 'model_version'],
      registers,
      collect: async () => {
        psi.reset();
        const w = this.current();
        if (!w) return;
        const loaded = await this.model().catch(() => undefined);
        const baseline = loaded?.drift?.baseline;
        if (!loaded || !baseline || loaded.version !== w.counts.modelVersion) return;
        const report = driftReport(baseline, w.counts, this.drift);
        for (const f of [...report.features, ...(report.score ? [report.score] : [])]) {
          if (f.psi !== null) psi.set({ feature: f.name, model_version: report.modelVersion }, f.psi);
        }
      },
    });
  }

  /** The window if it is still this hour's. */
  private current() {
    const hour = Math.floor(this.now() / HOUR_MS);
    return this.window && this.window.hour === hour ? this.window : undefined;
  }

  /** Records one answered request. */
  observe(status: number, seconds: number): void {
    this.requests.inc({ status: String(status) });
    this.latency.observe(seconds);
  }

  /** A capture sink that counts each capture into the window, then hands it on to `next` (if any). */
  tee(next?: CaptureSink): CaptureSink {
    return {
      write: async (document: CaptureDocument) => {
        this.records.inc(document.predictions.length);
        if (document.counts) {
          const hour = Math.floor(this.now() / HOUR_MS);
          const w = this.current();
          const { modelVersion } = document;
          const onto = w && w.counts.modelVersion === modelVersion ? w.counts : undefined;
          this.window = { hour, counts: mergeCounts(modelVersion, [document.counts], onto) };
        }
        if (next) await next.write(document);
      },
    };
  }
}
