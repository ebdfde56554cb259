/**
 * `mlp demo` (`npm run demo`): the whole lifecycle on this machine, in a fresh `$MLP_HOME` (default `.mlp/`).
 * Seeds the synthetic bank, extracts and anonymises it with the agent into the local landing bucket, runs the
 * retraining state machine CDK synthesizes (real XGBoost 1.7.4 training), serves the deployed model with the
 * scoring handler on 127.0.0.1 and scores a few held-out customers through it. Prints metrics, the gate's
 * decision, the model version, where every artifact is, and how long each phase took.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadEnvironment } from '../../config';
import { loadAgentConfig } from '../../onprem-agent/config/agent-config';
import { runExtract } from '../../onprem-agent/extract/run-extract';
import { seedBank } from '../../onprem-agent/seed/synthetic-bank';
import { FilesystemStore } from '../../onprem-agent/sink/filesystem-store';
import { SqliteSource } from '../../onprem-agent/source/sqlite-source';
import { followLocalAlias } from '../../local/alias-model';
import { LocalArtifactStore } from '../../stepfunctions/artifact-store';
import { localLayout, mlpHome } from '../../stepfunctions/local/local-home';
import type * as Runner from '../../stepfunctions/local/local-retraining';
import { trainingPythonProblem } from '../../stepfunctions/local/local-training';
import { UsageError } from '../usage-error';
import { parseCustomers } from './options';
import { startLocalScorer } from './serve';

/** What a demo home may hold (SQLite adds -wal/-shm files); anything else means the directory is not ours. */
const DEMO_ENTRIES = ['demo.json', 'bank.db', 's3', 'agent-state', 'registry.json', 'serving', 'logs', 'pseudonym.key'];
const isDemoEntry = (entry: string) => DEMO_ENTRIES.includes(entry.replace(/-(wal|shm|journal)$/, ''));
const ROOT = resolve(__dirname, '..', '..');
const loadOnDemand = createRequire(__filename);

/** Registers `mlp demo`. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('seed a synthetic bank, extract it, retrain locally, serve and score: the lifecycle in one go')
    .option('--customers <n>', 'customers in the synthetic bank (1,000 to 5,000,000)', '100000')
    .option('--env <name>', 'environment whose retraining configuration to use', 'dev')
    .action(async (options: { customers: string; env: string }) => {
      const customers = parseCustomers(options.customers, 1000);
      const problem = trainingPythonProblem();
      if (problem) throw new UsageError(problem);
      const config = loadEnvironment(options.env);
      const home = mlpHome();
      prepareHome(home);
      const layout = localLayout(home);
      const timings: Record<string, number> = {};
      const phase = async <T>(name: string, work: () => T | Promise<T>): Promise<T> => {
        const started = Date.now();
        const result = await work();
        timings[name] = (Date.now() - started) / 1000;
        return result;
      };
      const began = Date.now();

      const bank = join(home, 'bank.db');
      const seeded = await phase('seed', () => seedBank(bank, { customers, seed: 42 }));
      console.log(`1. seeded ${seeded.customers} customers, ${seeded.loans} loans in ${timings.seed.toFixed(1)} s`);

      // The agent's key source: MLP_PSEUDONYM_KEY when set (a repeatable demo), else a fresh random key. The
      // split hashes pseudonymous keys, so the key decides which loans land in the test split.
      const keyFile = join(home, 'pseudonym.key');
      const givenKey = process.env.MLP_PSEUDONYM_KEY;
      if (givenKey !== undefined && Buffer.byteLength(givenKey) < 32) {
        throw new UsageError('MLP_PSEUDONYM_KEY must be at least 32 bytes');
      }
      writeFileSync(keyFile, givenKey ? Buffer.from(givenKey) : randomBytes(32), { mode: 0o600 });
      const example = loadAgentConfig(join(ROOT, 'onprem-agent', 'examples', 'synthetic-bank.yaml'));
      const agentConfig = {
        ...example,
        source: { type: 'sqlite' as const, path: bank },
        sink: { type: 'filesystem' as const, root: layout.landingRoot },
        stateDir: join(home, 'agent-state'),
      };
      const source = new SqliteSource(bank);
      const extract = await phase('agent', () =>
        runExtract(agentConfig, agentConfig.datasets[0], {
          source,
          store: new FilesystemStore(layout.landingRoot),
          key: readFileSync(keyFile),
          now: () => new Date(),
        }).finally(() => source.close()),
      );
      console.log(
        `2. agent: ${extract.rows} rows anonymised in ${extract.parts} part(s), ${extract.suppressedRows} ` +
          `suppressed by k-anonymity, in ${timings.agent.toFixed(1)} s`,
      );

      const { runLocalRetraining } = loadOnDemand('../../stepfunctions/local/local-retraining') as typeof Runner;
      const run = await phase('retrain', () =>
        runLocalRetraining({ config, home, input: { manifestKey: extract.manifestKey!, trigger: 'manifest' } }),
      );
      if (run.status === 'FAILED') {
        throw new Error(`retraining failed: ${run.error!.name}: ${run.error!.cause} (path ${run.path.join(' → ')})`);
      }
      const out = run.output as unknown as RetrainingOutput;
      const m = out.evaluation.candidate;
      console.log(`3. retraining (${run.path.join(' → ')}) in ${timings.retrain.toFixed(1)} s`);
      console.log(
        `   test split: AUC ${m.auc.toFixed(4)}, Gini ${m.gini.toFixed(4)}, KS ${m.ks.toFixed(4)}, ` +
          `Brier ${m.brier.toFixed(4)}, calibration error ${m.calibrationError.toFixed(4)} (${m.rows} rows)`,
      );
      console.log(
        `   gate: ${out.gate.promote ? 'promoted' : `not promoted (${out.gate.reasons.join('; ')})`}; ` +
          `model version ${out.registration.modelPackageArn.split('/').slice(-2).join('/')}`,
      );

      const store = new LocalArtifactStore(layout.objects);
      if (out.deployed) await scoreExamples(store, out.prepared.testRecordsUri, layout.serving, timings);
      else {
        if (out.decision) console.log(`   not deployed: ${out.decision.reasons.join('; ')}`);
        console.log('4. nothing deployed, so nothing to score: the champion (none yet) keeps serving');
      }

      console.log('artifacts:');
      console.log(`   bank          ${bank}`);
      console.log(`   extract       ${join(layout.landingRoot, extract.manifestKey!)}`);
      console.log(`   channels      ${store.pathOf(out.prepared.trainUri)}`);
      console.log(`   model         ${store.pathOf(out.training.modelDataUrl)}`);
      console.log(`   feature spec  ${store.pathOf(out.prepared.featureSpecUri)}`);
      console.log(`   evaluation    ${store.pathOf(out.evaluation.evaluationUri)}`);
      console.log(`   registry      ${layout.registry}  (mlp models, mlp lineage VERSION)`);
      console.log(`   logs          ${layout.logs}`);
      const total = (Date.now() - began) / 1000;
      console.log(
        `timings: ${Object.entries(timings)
          .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
          .join(', ')}; total ${total.toFixed(1)} s`,
      );
    });
}

/** Scores three held-out loans through the local scorer, which follows the alias Deploy just moved. */
async function scoreExamples(
  store: LocalArtifactStore,
  testRecordsUri: string,
  servingDir: string,
  timings: Record<string, number>,
): Promise<void> {
  const scorer = await startLocalScorer(followLocalAlias(servingDir), 0);
  try {
    const examples = Buffer.from(await store.get(testRecordsUri))
      .toString('utf8')
      .split('\n')
      .slice(0, 3)
      .map((line) => JSON.parse(line) as { label: number; record: Record<string, unknown> });
    const started = Date.now();
    const response = await fetch(`${scorer.url}/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ records: examples.map((e) => e.record) }),
    });
    const body = (await response.json()) as { modelVersion: string; predictions: number[] };
    timings.score = (Date.now() - started) / 1000;
    if (response.status !== 200) throw new Error(`the local scorer answered ${response.status}`);
    console.log(`4. scored ${examples.length} held-out loans at ${scorer.url}/score with ${body.modelVersion}:`);
    examples.forEach((e, i) =>
      console.log(`   P(default) ${body.predictions[i].toFixed(4)}  (defaulted: ${e.label ? 'yes' : 'no'})`),
    );
  } finally {
    await scorer.close();
  }
}

/** The parts of the execution's final state the demo prints. */
interface RetrainingOutput {
  training: { modelDataUrl: string };
  prepared: { testRecordsUri: string; trainUri: string; featureSpecUri: string };
  evaluation: {
    evaluationUri: string;
    candidate: { auc: number; gini: number; ks: number; brier: number; calibrationError: number; rows: number };
  };
  gate: { promote: boolean; reasons: string[] };
  registration: { modelPackageArn: string };
  /** Set by FinishDeploy when the new version serves. */
  deployed?: { modelVersion: string };
  /** Set by RecordRejection (gate or approver said no). */
  decision?: { reasons: string[] };
}

/** Empties a home the demo made before (only its own entries), or refuses a directory holding anything else. */
function prepareHome(home: string): void {
  if (existsSync(home)) {
    const entries = readdirSync(home);
    const foreign = entries.filter((e) => !isDemoEntry(e));
    if (entries.length > 0 && (!entries.includes('demo.json') || foreign.length > 0)) {
      throw new UsageError(
        `${home} already holds other files; point MLP_HOME at a new directory (or delete this one) for the demo`,
      );
    }
    for (const entry of entries) rmSync(join(home, entry), { recursive: true, force: true });
  }
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'demo.json'), `${JSON.stringify({ createdAt: new Date().toISOString() })}\n`);
}
