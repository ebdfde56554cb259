/**
 * The local twin of the scorer's deployment: the `live` alias is a file (`$MLP_HOME/serving/<env>/live.json`) that
 * `mlp serve` follows, a canary is `canary.json` beside it (`previous.json` keeps the alias a completed canary
 * replaced, for a rollback), and the scorer's alarms are whatever `alarms.json` there lists (a test writes it to
 * see a canary rolled back).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CanaryHandle, DeployTarget, ScorerDeployment } from '../stepfunctions/scorer-deployment';

/** What the local alias file holds: the scorer's model with local paths. */
export interface LocalAlias extends DeployTarget {
  readonly modelPath: string;
  readonly featureSpecPath: string;
  readonly baselinePath?: string;
  readonly deployedAt: string;
}

/** The local alias: files under `serving/`. */
export class LocalScorerDeployment implements ScorerDeployment {
  constructor(
    private readonly servingDir: string,
    /** Maps an artifact URI to its local path. */
    private readonly localPath: (uri: string) => string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The live alias file. */
  static aliasPath(servingDir: string): string {
    return join(servingDir, 'live.json');
  }

  /** The live alias, or undefined before the first deployment. */
  static readAlias(servingDir: string): LocalAlias | undefined {
    const path = LocalScorerDeployment.aliasPath(servingDir);
    return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as LocalAlias) : undefined;
  }

  private write(name: string, value: unknown): void {
    mkdirSync(this.servingDir, { recursive: true });
    const path = join(this.servingDir, name);
    writeFileSync(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
    renameSync(`${path}.tmp`, path);
  }

  async startCanary(target: DeployTarget): Promise<CanaryHandle> {
    const alias: LocalAlias = {
      ...target,
      modelPath: this.localPath(target.modelDataUrl),
      featureSpecPath: this.localPath(target.featureSpecUri),
      ...(target.baselineUri ? { baselinePath: this.localPath(target.baselineUri) } : {}),
      deployedAt: this.now().toISOString(),
    };
    this.write('canary.json', alias);
    return {
      candidate: target.modelVersion,
      previous: LocalScorerDeployment.readAlias(this.servingDir)?.modelVersion ?? null,
      startedAt: alias.deployedAt,
    };
  }

  async canaryProblems(): Promise<string[]> {
    const path = join(this.servingDir, 'alarms.json');
    const firing = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as string[]) : [];
    return firing.map((name) => `${name} in alarm`);
  }

  async complete(handle: CanaryHandle): Promise<void> {
    const live = LocalScorerDeployment.readAlias(this.servingDir);
    if (live?.modelVersion === handle.candidate) return;
    const canary = JSON.parse(readFileSync(join(this.servingDir, 'canary.json'), 'utf8')) as LocalAlias;
    if (live) this.write('previous.json', live);
    this.write('live.json', canary);
  }

  async abandonCanary(): Promise<void> {
    rmSync(join(this.servingDir, 'canary.json'), { force: true });
  }

  async rollback(handle: CanaryHandle): Promise<void> {
    rmSync(join(this.servingDir, 'canary.json'), { force: true });
    if (LocalScorerDeployment.readAlias(this.servingDir)?.modelVersion !== handle.candidate) return;
    const previousPath = join(this.servingDir, 'previous.json');
    if (existsSync(previousPath) && handle.previous)
      this.write('live.json', JSON.parse(readFileSync(previousPath, 'utf8')));
    else rmSync(LocalScorerDeployment.aliasPath(this.servingDir), { force: true });
  }
}
