/**
 * `mlp card MODEL_VERSION`: (re)builds a version's model card from the registry, its documents and the approval
 * trail as they are now, stores it beside the version's evaluation (`<dataset>/cards/` of the models bucket),
 * records it in the registry, and writes a copy into `--out` (default: the current directory).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadEnvironment } from '../../config';
import { versionSegment } from '../../contracts/s3-layout';
import { LocalModelRegistry } from '../../local/local-model-registry';
import { localLayout, localSettings, mlpHome } from '../../local/local-home';
import { writeModelCard } from '../../stepfunctions/governance/model-card-writer';
import type { ModelRegistry } from '../../stepfunctions/model-registry';
import { SageMakerModelRegistry } from '../../stepfunctions/sagemaker-registry';
import { CommandError } from '../../terminal/errors';
import { CommandOutput } from '../../terminal/output';
import { targetOf, type TargetOptions } from '../commands/options';
import { targetTrail } from './audit';
import { findVersion } from './registry';

/** Options of `mlp card`. */
export interface CardOptions extends TargetOptions {
  readonly out?: string;
  readonly json?: boolean;
}

/** The bucket of an `s3://bucket/key` URI. */
function bucketOf(uri: string | undefined): string | undefined {
  return uri ? /^s3:\/\/([^/]+)\//.exec(uri)?.[1] : undefined;
}

/** `mlp card`. */
export async function card(version: string, options: CardOptions): Promise<void> {
  const target = targetOf(options);
  const config = loadEnvironment(target.env);
  const { record, store } = await findVersion(target, version);
  const { trail } = await targetTrail(options);
  const registry: ModelRegistry =
    target.kind === 'aws'
      ? new SageMakerModelRegistry(config.region)
      : new LocalModelRegistry(localLayout(mlpHome(), config.name).registry);
  const local = localSettings(config);
  // In AWS the models bucket is the one the version's evaluation is in.
  const modelsBucket = target.kind === 'aws' ? bucketOf(record.metadata.evaluationUri) : local.buckets.models;
  if (!modelsBucket) throw new CommandError(`${version}: the registry records no evaluation, so no models bucket`);
  const written = await writeModelCard(
    { store, registry, trail, settings: { ...local, buckets: { models: modelsBucket } } },
    record.modelPackageArn,
  );
  const dir = resolve(options.out ?? '.');
  const base = join(dir, `${versionSegment(version)}.card`);
  const files = { json: `${base}.json`, html: `${base}.html` };
  try {
    mkdirSync(dir, { recursive: true });
    for (const [path, text] of [
      [files.json, written.json],
      [files.html, written.html],
    ] as const) {
      writeFileSync(`${path}.tmp`, text);
      renameSync(`${path}.tmp`, path);
    }
  } catch (error) {
    throw new CommandError(`the model card cannot be written to ${dir}: ${(error as Error).message}`);
  }
  new CommandOutput(options).result(
    { card: written.card, stored: { json: written.jsonUri, html: written.htmlUri, sha256: written.sha256 }, files },
    {
      human: (r) => [
        `${r.card.model.version}: model card stored at ${r.stored.json} and ${r.stored.html} (recorded in the registry)`,
        `  written to ${r.files.html} and ${r.files.json}`,
        ...r.card.missing.map((m) => `  not shown: ${m}`),
      ],
    },
  );
}
