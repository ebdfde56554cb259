/** `mlp report MODEL_VERSION`. */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadEnvironment } from '../../config';
import { versionSegment } from '../../contracts/s3-layout';
import { localCaptureBucket } from '../../local/local-home';
import { gatherModelReport } from '../../stepfunctions/monitoring/model-report';
import { renderModelReport } from '../../stepfunctions/monitoring/model-report-html';
import { CommandError } from '../../terminal/errors';
import { CommandOutput } from '../../terminal/output';
import { targetOf, type TargetOptions } from '../commands/options';
import { stackOutput } from './aws-stack';
import { findVersion } from './registry';

/** Options of `mlp report`. */
export interface ReportOptions extends TargetOptions {
  readonly out?: string;
  readonly json?: boolean;
}

/** `mlp report`. */
export async function report(version: string, options: ReportOptions): Promise<void> {
  const target = targetOf(options);
  const config = loadEnvironment(target.env);
  const { record, store } = await findVersion(target, version);
  const captureBucket =
    target.kind === 'aws'
      ? await stackOutput(config.name, 'captureBucket', config.region)
      : localCaptureBucket(config.name);
  const data = await gatherModelReport(
    store,
    { environment: config.name, dataset: config.retraining.dataset, captureBucket },
    record,
    new Date(),
  );
  const html = await renderModelReport(data);
  const out = resolve(options.out ?? `${versionSegment(version)}.report.html`);
  const partial = `${out}.tmp`;
  try {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(partial, html);
    renameSync(partial, out);
  } catch (error) {
    try {
      rmSync(partial, { force: true });
    } catch {
      // Nothing was written where nothing can be: the reason below is the one to tell.
    }
    throw new CommandError(`the report cannot be written to ${out}: ${(error as Error).message}`);
  }
  new CommandOutput(options).result(
    { ...data, path: out, bytes: Buffer.byteLength(html) },
    {
      human: (r) => [
        `${r.model.version}: report written to ${r.path} (${Math.round(r.bytes / 1024)} KiB)`,
        ...r.missing.map((m) => `  not shown: ${m}`),
      ],
    },
  );
}
