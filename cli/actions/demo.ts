/**
 * `mlp demo`: seeds the synthetic bank, extracts and anonymises it with the agent into the local landing
 * bucket, runs the retraining state machine CDK synthesizes (real XGBoost 1.7.4 training), serves the deployed
 * model with the scoring handler on 127.0.0.1 and scores a few held-out loans through it; a month later it
 * retrains on the grown training set; then applications arrive with incomes 40% lower, the scorer captures their
 * drift counts, the drift job judges them, its alarm fires and starts a retraining. It leaves example inputs for
 * the next commands in `$MLP_HOME/examples/` and prints metrics, the outcomes, where every artifact is, and how
 * long each phase took.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadEnvironment } from '../../config';
import { parseTestRecords, type TestRecord } from '../../contracts/test-records';
import { loadAgentConfig } from '../../onprem-agent/config/agent-config';
import { runExtract } from '../../onprem-agent/extract/run-extract';
import { advanceBank } from '../../onprem-agent/seed/advance-bank';
import { readBankClock, SEED_BATCH, seedBank } from '../../onprem-agent/seed/synthetic-bank';
import Database from 'better-sqlite3';
import { FilesystemStore } from '../../onprem-agent/sink/filesystem-store';
import { SqliteSource } from '../../onprem-agent/source/sqlite-source';
import { followLocalAlias } from '../../local/alias-model';
import { startLocalScorer } from '../../local/scoring-server';
import { LocalArtifactStore } from '../../local/local-artifact-store';
import { type LocalLayout, localCaptureBucket, localLayout, localSettings, mlpHome } from '../../local/local-home';
import { runLocalMonitor } from '../../local/local-monitoring';
import { readChampion } from '../../stepfunctions/champion';
import { capture, curated, s3Uri } from '../../contracts/s3-layout';
import { runLocalRetraining } from '../../local/local-retraining';
import { trainingPythonProblem } from '../../local/local-training';
import { retrainingOutcome } from '../../stepfunctions/retraining-outcome';
import { ReportedOutcome, UsageError } from '../../terminal/errors';
import { CommandOutput } from '../../terminal/output';
import type { Progress, ProgressTask } from '../../terminal/progress';
import { parseCustomers } from '../../onprem-agent/cli/customers-option';
import { approvalOf } from './retrain';
import { outcomeExitCode, outcomeLines, retrainingProgress } from './retraining-report';

/** Options of `mlp demo`. */
export interface DemoOptions {
  readonly customers: string;
  readonly local?: string | true;
  readonly approveAs?: string;
  readonly json?: boolean;
}

/** What a demo home may hold (SQLite adds -wal/-shm files); anything else means the directory is not ours. */
const DEMO_ENTRIES = [
  'demo.json',
  'bank.db',
  's3',
  'agent-state',
  'registry',
  'serving',
  'logs',
  'pseudonym.key',
  'examples',
];
const isDemoEntry = (entry: string) => DEMO_ENTRIES.includes(entry.replace(/-(wal|shm|journal)$/, ''));
const ROOT = resolve(__dirname, '..', '..');
/**
 * Smallest bank the demo builds: with fewer customers the second month's increment (a few percent of the loans)
 * holds k-anonymity groups too small for the example policy's gate, which refuses it.
 */
export const MIN_DEMO_CUSTOMERS = 50_000;
/** Held-out loans written to `examples/` for `mlp predict` and `mlp score`. */
const EXAMPLE_LOANS = 20;

/** `mlp demo`: checks everything it can up front, then runs the phases in a fresh home. */
export async function demo(options: DemoOptions): Promise<void> {
  const customers = parseCustomers(options.customers, MIN_DEMO_CUSTOMERS);
  const problem = trainingPythonProblem();
  if (problem) throw new UsageError(problem);
  const config = loadEnvironment(typeof options.local === 'string' ? options.local : 'dev');
  const approval = approvalOf({ approveAs: options.approveAs }, config);
  const givenKey = process.env.MLP_PSEUDONYM_KEY;
  if (givenKey !== undefined && Buffer.byteLength(givenKey) < 32) {
    throw new UsageError('MLP_PSEUDONYM_KEY must be at least 32 bytes');
  }
  const home = mlpHome();
  prepareHome(home);
  const layout = localLayout(home, config.name);
  const out = new CommandOutput(options);
  const phases = new Phases(out.progress());
  try {
    const bank = join(home, 'bank.db');
    const seeded = await seedPhase(phases, bank, customers);
    const extract = await extractPhase(phases, layout, bank, givenKey);
    const { onEvent, states } = retrainingProgress(phases.progress, { synthesizes: true });
    const run = await phases.timed('retrain', () =>
      runLocalRetraining({
        config,
        home,
        input: { manifestKey: extract.manifestKey!, trigger: 'manifest' },
        onEvent,
        approval,
      }),
    );
    const outcome = retrainingOutcome(run.status, run.output, run.error);
    const final = (run.output ?? {}) as unknown as FinalState;
    const store = new LocalArtifactStore(layout.objects);
    const served = outcome.outcome === 'Promoted' ? await scorePhase(phases, layout, store, final) : undefined;
    const month2 = await secondMonthPhase(phases, { config, home, layout, bank, approval });
    const drift = await driftPhase(phases, { config, home, layout, store, approval });
    phases.progress.stop();
    const result = {
      home,
      environment: config.name,
      seeded,
      extract,
      retraining: { ...outcome, states, trainingRows: trainingRowsOf(run.output) },
      scored: served?.scored ?? null,
      secondMonth: month2.result,
      drift: drift?.result ?? null,
      artifacts: artifactsOf(layout, store, bank, extract.manifestKey!, final, served?.examples),
      timings: phases.totals(),
    };
    out.result(result, { human: (r) => demoLines(r, outcome, month2.outcome, drift?.outcome) });
    // The first month decides the exit code; a second month that fails (not one the gate declines) does too.
    const failed = [month2.outcome, drift?.outcome].find((o) => o?.outcome === 'Failed');
    const code = outcomeExitCode(outcome) || (failed ? outcomeExitCode(failed) : 0);
    if (code !== 0) throw new ReportedOutcome(code, code === outcomeExitCode(outcome) ? outcome.outcome : 'Failed');
  } finally {
    phases.progress.stop();
  }
}

/** The demo's phases: their progress lines and how long each took. */
class Phases {
  private readonly began = Date.now();
  private readonly timings: Record<string, number> = {};

  constructor(readonly progress: Progress) {}

  /** Runs a phase, timing it; a phase that throws marks its progress step failed (the error line says why). */
  async timed<T>(name: string, work: () => T | Promise<T>, task?: ProgressTask): Promise<T> {
    const started = Date.now();
    try {
      return await work();
    } catch (error) {
      task?.fail('failed');
      throw error;
    } finally {
      this.timings[name] = (Date.now() - started) / 1000;
    }
  }

  /** Each phase's seconds and the total. */
  totals(): Record<string, number> {
    return { ...this.timings, total: (Date.now() - this.began) / 1000 };
  }
}

/** Builds the synthetic bank. */
async function seedPhase(phases: Phases, bank: string, customers: number) {
  const task = phases.progress.task('seed a synthetic bank', Math.ceil(customers / SEED_BATCH));
  const seeded = await phases.timed(
    'seed',
    () =>
      seedBank(bank, {
        customers,
        seed: 42,
        onProgress: (done) => task.update(`${done.toLocaleString('en-GB')} customers`, Math.ceil(done / SEED_BATCH)),
      }),
    task,
  );
  task.done(`${seeded.customers.toLocaleString('en-GB')} customers, ${seeded.loans.toLocaleString('en-GB')} loans`);
  return seeded;
}

/**
 * Extracts and anonymises the loan view with the example agent config into the local landing bucket. The key is
 * MLP_PSEUDONYM_KEY when set (a repeatable demo), else a fresh random one, kept in the home so later agent runs
 * can use it; the split hashes pseudonymous keys, so the key decides the test split.
 */
async function extractPhase(
  phases: Phases,
  layout: LocalLayout,
  bank: string,
  givenKey: string | undefined,
  name = 'agent',
) {
  const keyFile = join(layout.home, 'pseudonym.key');
  if (name === 'agent') writeFileSync(keyFile, givenKey ?? randomBytes(33).toString('base64'), { mode: 0o600 });
  const example = loadAgentConfig(join(ROOT, 'onprem-agent', 'examples', 'synthetic-bank.yaml'));
  const agentConfig = {
    ...example,
    source: { type: 'sqlite' as const, path: bank },
    sink: { type: 'filesystem' as const, root: layout.landingRoot },
    stateDir: join(layout.home, 'agent-state'),
  };
  const task = phases.progress.task(name === 'agent' ? 'extract and anonymise' : 'extract the increment');
  // Every dataset of the config, as the agent's own command runs them: the loans, then their known outcomes.
  const [extract, ...others] = await phases.timed(
    name,
    async () => {
      const results = [];
      for (const dataset of agentConfig.datasets) {
        const source = new SqliteSource(bank);
        results.push(
          await runExtract(agentConfig, dataset, {
            source,
            store: new FilesystemStore(layout.landingRoot),
            key: readFileSync(keyFile),
            // The agent runs at the bank's own date (the day after its clock): the demo is the same whenever run.
            now: () => agentClock(bank, dataset.watermark.lagSeconds),
            progress: ({ rows }) => task.update(`${dataset.name}: ${rows.toLocaleString('en-GB')} rows`),
          }).finally(() => source.close()),
        );
      }
      return results;
    },
    task,
  );
  task.done(
    `${extract.rows.toLocaleString('en-GB')} rows in ${extract.parts} part(s), ${extract.suppressedRows} suppressed` +
      others.map((o) => `; ${o.dataset} ${o.rows.toLocaleString('en-GB')} rows`).join(''),
  );
  return { ...extract, alongside: others.map(({ dataset, rows, manifestKey }) => ({ dataset, rows, manifestKey })) };
}

/** The moment an agent run covers the whole of the bank's current day: its next midnight plus the lag. */
function agentClock(bank: string, lagSeconds: number): Date {
  const db = new Database(bank, { readonly: true, fileMustExist: true });
  try {
    return new Date(Date.parse(`${readBankClock(db).asOf}T00:00:00Z`) + 86_400_000 + lagSeconds * 1000);
  } finally {
    db.close();
  }
}

/** Rows of the training set an execution prepared (train + validation + test), or null before Prepare. */
function trainingRowsOf(output: Record<string, unknown> | undefined): number | null {
  const rows = (output?.prepared as { rows?: Record<string, number> } | undefined)?.rows;
  return rows ? rows.train + rows.validation + rows.test : null;
}

/** What the later phases act on: the environment, the home and its layout, the approval decision. */
interface PhaseContext {
  readonly config: ReturnType<typeof loadEnvironment>;
  readonly home: string;
  readonly layout: LocalLayout;
  readonly approval: ReturnType<typeof approvalOf>;
}

/**
 * The bank's second month: the bank moves 30 days on (new loans, missed payments, matured outcomes), the
 * agent's next run carries only what changed, and the retrain merges that increment into the curated table and
 * trains on the grown training set as of it.
 */
async function secondMonthPhase(phases: Phases, context: PhaseContext & { bank: string }) {
  const task = phases.progress.task('a month later: advance the bank');
  const advanced = await phases.timed('advance', () => advanceBank(context.bank, { days: 30 }), task);
  task.done(
    `${advanced.from} → ${advanced.to}: ${advanced.newLoans} new loans, ${advanced.matured} outcomes now known`,
  );
  const extract = await extractPhase(phases, context.layout, context.bank, undefined, 'agent (month 2)');
  const { onEvent, states } = retrainingProgress(phases.progress, { synthesizes: false });
  const run = await phases.timed('retrain (month 2)', () =>
    runLocalRetraining({
      config: context.config,
      home: context.home,
      input: extract.manifestKey ? { manifestKey: extract.manifestKey, trigger: 'manifest' } : { trigger: 'schedule' },
      onEvent,
      approval: context.approval,
    }),
  );
  const outcome = retrainingOutcome(run.status, run.output, run.error);
  return {
    outcome,
    result: {
      advanced,
      extract,
      retraining: { ...outcome, states, trainingRows: trainingRowsOf(run.output) },
    },
  };
}

/** The feature the drift phase shifts, and by how much: an income shock. */
const SHIFTED = { feature: 'annual_income', factor: 0.6 } as const;
/** Records per scoring request in the drift phase (the body cap is 256 KB). */
const DRIFT_BATCH = 400;

/**
 * The drift story: the champion's held-out loans arrive again as new applications with incomes 40% lower; the
 * local scorer (following the live alias, capturing every request) scores them; the drift job runs twice (two
 * hourly periods: the alarm needs 2 of 3), its alarm fires and starts a retraining, as in AWS.
 */
async function driftPhase(phases: Phases, context: PhaseContext & { store: LocalArtifactStore }) {
  const { config, layout, store } = context;
  const champion = await readChampion(store, localSettings(config));
  if (!champion) return undefined;
  const keys = curated.keys(config.retraining.dataset, champion.datasetVersion);
  const heldOut = await readTestRecords(
    store,
    s3Uri(localSettings(config).buckets.curated, keys.testRecords),
    Infinity,
  );
  const shifted = heldOut.map((e) => {
    const value = e.record[SHIFTED.feature];
    return {
      ...e,
      record: { ...e.record, [SHIFTED.feature]: typeof value === 'number' ? value * SHIFTED.factor : value },
    };
  });
  writeFileSync(join(layout.home, 'examples', 'loans-shifted.csv'), loansCsv(shifted));
  const task = phases.progress.task(`applications with ${SHIFTED.feature} × ${SHIFTED.factor}: score, judge drift`);
  const captureDir = join(
    layout.objects,
    localCaptureBucket(config.name),
    capture.datasetPrefix(config.retraining.dataset),
  );
  const scored = await phases.timed(
    'score (shifted)',
    async () => {
      const bodies = [];
      for (let i = 0; i < shifted.length; i += DRIFT_BATCH) {
        const batch = shifted.slice(i, i + DRIFT_BATCH);
        const records = batch.map((e) => e.record);
        // With their pseudonymous keys, so the quality job can join the outcomes the bank already knows.
        const keys = batch.every((e) => e.key !== undefined) ? batch.map((e) => e.key!) : undefined;
        bodies.push(keys ? { records, keys } : { records });
      }
      await throughLocalScorer(layout, bodies, captureDir);
      return shifted.length;
    },
    task,
  );
  const now = new Date();
  const monitored = await phases.timed('drift job', async () => [
    await runLocalMonitor({ config, home: context.home, now }),
    await runLocalMonitor({ config, home: context.home, now: new Date(now.getTime() + 3_600_000) }),
  ]);
  const last = monitored[monitored.length - 1];
  task.done(`${scored} loans scored; ${last.alarm.name} ${last.alarm.state}`);
  let outcome: ReturnType<typeof retrainingOutcome> | undefined;
  let states: unknown[] = [];
  if (monitored.some((m) => m.alarm.entered)) {
    const progress = retrainingProgress(phases.progress, { synthesizes: false });
    states = progress.states;
    const run = await phases.timed('retrain (drift)', () =>
      runLocalRetraining({
        config,
        home: context.home,
        input: { trigger: 'drift' },
        onEvent: progress.onEvent,
        approval: context.approval,
      }),
    );
    outcome = retrainingOutcome(run.status, run.output, run.error);
  }
  const report = last.drift.report;
  return {
    outcome,
    result: {
      shifted: `${SHIFTED.feature} × ${SHIFTED.factor}`,
      scored,
      modelVersion: champion.modelVersion,
      drifted: report?.drifted ?? [],
      psi: Object.fromEntries((report?.features ?? []).map((f) => [f.name, f.psi])),
      scorePsi: report?.score?.psi ?? null,
      alarm: last.alarm,
      reportUri: last.drift.reportUri,
      quality: last.quality.report.cohorts.filter((c) => c.modelVersion === champion.modelVersion),
      retraining: outcome ? { ...outcome, states } : null,
    },
  };
}

/** Leaves example inputs in the home and scores three held-out loans through the local scorer. */
async function scorePhase(phases: Phases, layout: LocalLayout, store: LocalArtifactStore, final: FinalState) {
  const heldOut = await readTestRecords(store, final.prepared.testRecordsUri, EXAMPLE_LOANS);
  const examples = writeExamples(layout.home, heldOut);
  const task = phases.progress.task('serve and score held-out loans');
  const scored = await phases.timed('score', () => scoreThree(layout, heldOut.slice(0, 3)), task);
  task.done(`${scored.predictions.length} loans at ${scored.url}/score`);
  return { scored, examples };
}

/** Where everything the demo made is. */
function artifactsOf(
  layout: LocalLayout,
  store: LocalArtifactStore,
  bank: string,
  manifestKey: string,
  final: Partial<FinalState>,
  examples: { request: string; loans: string } | undefined,
) {
  return {
    bank,
    extract: join(layout.landingRoot, manifestKey),
    ...(final.prepared ? { channels: store.pathOf(final.prepared.trainUri) } : {}),
    ...(final.training ? { model: store.pathOf(final.training.modelDataUrl) } : {}),
    ...(final.prepared ? { featureSpec: store.pathOf(final.prepared.featureSpecUri) } : {}),
    ...(final.evaluation ? { evaluation: store.pathOf(final.evaluation.evaluationUri) } : {}),
    registry: layout.registry,
    logs: layout.logs,
    ...(examples ? { examples } : {}),
  };
}

/** The parts of the execution's final state the demo uses. */
interface FinalState {
  training: { modelDataUrl: string };
  prepared: { testRecordsUri: string; trainUri: string; featureSpecUri: string };
  evaluation: { evaluationUri: string };
}

async function readTestRecords(store: LocalArtifactStore, uri: string, count: number): Promise<TestRecord[]> {
  return parseTestRecords(Buffer.from(await store.get(uri)).toString('utf8'), count);
}

/** `examples/request.json` (three loans, for mlp score) and `examples/loans.csv` (named columns, for mlp predict). */
function writeExamples(home: string, heldOut: readonly TestRecord[]): { request: string; loans: string } {
  const dir = join(home, 'examples');
  mkdirSync(dir, { recursive: true });
  const request = join(dir, 'request.json');
  const body = { records: heldOut.slice(0, 3).map((e) => e.record), explain: true };
  writeFileSync(request, `${JSON.stringify(body, null, 2)}\n`);
  const loans = join(dir, 'loans.csv');
  writeFileSync(loans, loansCsv(heldOut));
  return { request, loans };
}

/** Loans as CSV with named columns and their outcome (`mlp predict --spec`, `mlp drift`). */
function loansCsv(heldOut: readonly TestRecord[]): string {
  const columns = Object.keys(heldOut[0]?.record ?? {});
  const cell = (value: unknown) => {
    if (value === null || value === undefined) return '';
    const text = String(value);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const lines = [
    [...columns, 'defaulted_12m'].join(','),
    ...heldOut.map((e) => [...columns.map((c) => cell(e.record[c])), String(e.label)].join(',')),
  ];
  return `${lines.join('\n')}\n`;
}

/** Scores loans through the local scorer, which follows the alias Deploy just moved. */
async function scoreThree(layout: LocalLayout, loans: readonly TestRecord[]) {
  const body = { records: loans.map((e) => e.record), explain: true, reasons: 3 };
  const { url, answers } = await throughLocalScorer(layout, [body]);
  return {
    url,
    modelVersion: answers[0].modelVersion,
    predictions: answers[0].predictions,
    // Each decision's strongest adverse reasons, from the reason-code table Prepare wrote into the spec.
    reasons: (answers[0].explanations ?? []).map((e) => e.reasons.map((r) => r.code)),
    labels: loans.map((e) => e.label),
  };
}

/**
 * Starts the local scorer on the environment's live alias (capturing into `captureDir` when given), posts each
 * request body to it in turn, and closes it; a request it does not answer with 200 fails the phase.
 */
async function throughLocalScorer(layout: LocalLayout, bodies: readonly object[], captureDir?: string) {
  const scorer = await startLocalScorer(followLocalAlias(layout.serving), {
    port: 0,
    logFile: join(layout.logs, 'scorer.log'),
    ...(captureDir ? { captureDir } : {}),
  });
  try {
    const answers = [];
    for (const body of bodies) {
      const response = await fetch(`${scorer.url}/score`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const answer = (await response.json()) as {
        modelVersion: string;
        predictions: number[];
        explanations?: { reasons: { code: string }[] }[];
        error?: string;
      };
      if (response.status !== 200) throw new Error(`the local scorer answered ${response.status}: ${answer.error}`);
      answers.push(answer);
    }
    return { url: scorer.url, answers };
  } finally {
    await scorer.close();
  }
}

function demoLines(
  r: {
    seeded: { customers: number; loans: number };
    extract: { rows: number; parts: number; suppressedRows: number };
    retraining: { states: { state: string; seconds: number }[]; trainingRows: number | null };
    secondMonth: {
      advanced: { from: string; to: string; newLoans: number; matured: number; changedLoans: number };
      extract: { rows: number };
      retraining: { trainingRows: number | null };
    };
    scored: { predictions: number[]; reasons: string[][]; labels: number[]; modelVersion: string; url: string } | null;
    drift: {
      shifted: string;
      scored: number;
      modelVersion: string;
      drifted: readonly string[];
      psi: Record<string, number | null>;
      scorePsi: number | null;
      alarm: { name: string; state: string; threshold: number };
      quality: readonly { cohort: string; estimatedAuc: number | null; realised: { auc: number } | null }[];
    } | null;
    artifacts: Record<string, unknown> & { examples?: { request: string; loans: string } };
    timings: Record<string, number>;
  },
  outcome: Parameters<typeof outcomeLines>[0],
  second: Parameters<typeof outcomeLines>[0],
  drifted?: Parameters<typeof outcomeLines>[0],
): string[] {
  const lines = [
    `1. seeded ${r.seeded.customers} customers, ${r.seeded.loans} loans`,
    `2. agent: ${r.extract.rows} rows anonymised in ${r.extract.parts} part(s), ${r.extract.suppressedRows} ` +
      'suppressed by k-anonymity',
    `3. retraining on ${r.retraining.trainingRows ?? 0} mature loans: ${r.retraining.states.map((s) => s.state).join(' → ')}`,
    ...outcomeLines(outcome).map((line) => `   ${line.trim()}`),
  ];
  if (r.scored) {
    lines.push(
      `4. scored ${r.scored.predictions.length} held-out loans at ${r.scored.url}/score with ${r.scored.modelVersion}:`,
    );
    r.scored.predictions.forEach((p, i) =>
      lines.push(
        `   P(default) ${p.toFixed(4)}  (defaulted: ${r.scored!.labels[i] ? 'yes' : 'no'})  ` +
          `reasons: ${r.scored!.reasons[i]?.join(', ') || 'none adverse'}`,
      ),
    );
  } else {
    lines.push('4. nothing deployed, so nothing to score');
  }
  const m = r.secondMonth;
  lines.push(
    `5. a month later (${m.advanced.from} → ${m.advanced.to}): ${m.advanced.newLoans} new loans, ` +
      `${m.advanced.matured} outcomes now known; the agent's increment carried ${m.extract.rows} changed rows`,
    `6. retraining on the grown training set: ${m.retraining.trainingRows ?? 0} mature loans ` +
      `(was ${r.retraining.trainingRows ?? 0}), every manifest merged so far`,
    ...outcomeLines(second).map((line) => `   ${line.trim()}`),
  );
  if (r.drift) {
    const d = r.drift;
    const psi = Object.entries(d.psi)
      .filter(([name]) => d.drifted.includes(name))
      .map(([name, v]) => `${name} PSI ${(v ?? 0).toFixed(3)}`);
    lines.push(
      `7. new applications with ${d.shifted}: ${d.scored} scored by ${d.modelVersion}, drift counts captured; ` +
        `the drift job finds ${psi.join(', ') || 'no drift'} (score PSI ${(d.scorePsi ?? 0).toFixed(3)})`,
      ...d.quality.map(
        (q) =>
          `   quality of ${d.modelVersion}'s ${q.cohort} predictions: estimated AUC ${q.estimatedAuc?.toFixed(3) ?? '—'}` +
          ` from the scores alone, realised ${q.realised ? q.realised.auc.toFixed(3) : 'pending'} from the known outcomes`,
      ),
      `   ${d.alarm.name}: ${d.alarm.state} (PSI >= ${d.alarm.threshold} in 2 of 3 periods)` +
        (drifted ? '; it started a retraining:' : ''),
      ...(drifted ? outcomeLines(drifted, d.modelVersion).map((line) => `   ${line.trim()}`) : []),
    );
  }
  lines.push('artifacts:');
  for (const [name, value] of Object.entries(r.artifacts)) {
    if (name === 'examples') continue;
    lines.push(`   ${name.padEnd(12)}  ${String(value)}`);
  }
  if (r.artifacts.examples) {
    lines.push(`   ${'examples'.padEnd(12)}  ${r.artifacts.examples.request}, ${r.artifacts.examples.loans}`);
  }
  lines.push(
    `timings: ${Object.entries(r.timings)
      .filter(([name]) => name !== 'total')
      .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
      .join(', ')}; total ${r.timings.total.toFixed(1)} s`,
  );
  if (r.scored) lines.push('next: mlp models, mlp serve, mlp score --input ' + r.artifacts.examples!.request);
  return lines;
}

/** Empties a home the demo made before (only its own entries), or refuses a directory holding anything else. */
function prepareHome(home: string): void {
  if (existsSync(home)) {
    const entries = readdirSync(home);
    const foreign = entries.filter((e) => !isDemoEntry(e));
    if (entries.length > 0 && (!entries.includes('demo.json') || foreign.length > 0)) {
      throw new UsageError(
        `${home} already holds other files`,
        'point MLP_HOME at a new directory (or delete this one) for the demo',
      );
    }
    for (const entry of entries) rmSync(join(home, entry), { recursive: true, force: true });
  }
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'demo.json'), `${JSON.stringify({ createdAt: new Date().toISOString() })}\n`);
}
