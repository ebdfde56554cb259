/**
 * Shared fixture: synthesizes the platform for the given environments exactly as `cdk synth` does (same
 * feature flags from cdk.json), without Lambda bundling, into a temporary directory.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import cdkJson from '../../cdk.json';
import { ENVIRONMENTS, type LoadOptions } from '../../config';
import { type BuildPlatformOptions, buildPlatform } from '../../lib/platform-app';
import type { PlatformStage } from '../../lib/platform-stage';

/** A synthesized platform: the app and its stages. */
export interface SynthesizedPlatform {
  readonly app: App;
  readonly stages: Readonly<Record<string, PlatformStage>>;
}

/** Builds and synthesizes the platform; compliance plugins are left off so tests can run them explicitly. */
export function synthesizePlatform(
  environments: readonly string[] = [],
  configSource?: LoadOptions,
  options: Pick<BuildPlatformOptions, 'acknowledgeFindings'> = {},
): SynthesizedPlatform {
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'mlp-cdk-')),
    context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] },
  });
  const stages = buildPlatform(app, { ...options, environments, compliance: false, configSource });
  app.synth();
  return { app, stages: Object.fromEntries(stages.map((stage) => [stage.stageName, stage])) };
}

/** Template of one stack of a stage. */
export function templateOf(
  stage: PlatformStage,
  stack: 'keys' | 'network' | 'data' | 'audit' | 'onPremAccess' | 'alerts' | 'serving' | 'monitoring',
): Template {
  return Template.fromStack(stage[stack]);
}

/** The environment table with one environment's training sets selected by Athena (`retraining.trainingSet.engine`). */
export function athenaEnvironments(envName = 'dev'): LoadOptions {
  const env = ENVIRONMENTS[envName];
  const trainingSet = { ...env.retraining.trainingSet, engine: 'athena' as const };
  return { environments: { ...ENVIRONMENTS, [envName]: { ...env, retraining: { ...env.retraining, trainingSet } } } };
}
