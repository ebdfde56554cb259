/** The artifact store a command's target reads: S3 in the environment's region, or the local twin's buckets. */
import type { EnvironmentConfig } from '../../config';
import { LocalArtifactStore } from '../../local/local-artifact-store';
import { localLayout, mlpHome } from '../../local/local-home';
import { type ArtifactStore, S3ArtifactStore } from '../../stepfunctions/artifact-store';
import type { Target } from '../commands/options';

/** The store of `target` (whose environment is `config`). */
export function targetStore(target: Target, config: Pick<EnvironmentConfig, 'name' | 'region'>): ArtifactStore {
  return target.kind === 'aws'
    ? new S3ArtifactStore({ region: config.region })
    : new LocalArtifactStore(localLayout(mlpHome(), config.name).objects);
}
