/**
 * Builds the platform's CDK app: one {@link PlatformStage} per selected environment, each checked by the
 * compliance packs at synth time.
 */
import { type App, Validations } from 'aws-cdk-lib';
import { type LoadOptions, loadEnvironments } from '../config';
import { acknowledgeFindings } from './compliance/acknowledgements';
import { compliancePacks } from './compliance/packs';
import { PlatformStage } from './platform-stage';

/** Options for {@link buildPlatform}. */
export interface BuildPlatformOptions {
  /** Environment names to model; empty means all. Unknown names throw ConfigError. */
  readonly environments?: readonly string[];
  /** Register the compliance packs as synth-time validation plugins. @default true */
  readonly compliance?: boolean;
  /** Where configuration comes from. @default config/environments.ts */
  readonly configSource?: LoadOptions;
  /**
   * Record the platform's acknowledged compliance findings on each stage. Turned off only to audit that every
   * acknowledgement still matches a real finding.
   * @default true
   */
  readonly acknowledgeFindings?: boolean;
}

/** Adds the selected environments to `app` and returns their stages. */
export function buildPlatform(app: App, options: BuildPlatformOptions = {}): PlatformStage[] {
  const stages = loadEnvironments(options.environments ?? [], options.configSource).map((config) => {
    const acknowledge = options.acknowledgeFindings ?? true;
    const stage = new PlatformStage(app, { config, acknowledgeFindings: acknowledge });
    if (acknowledge) acknowledgeFindings(stage);
    return stage;
  });
  // Plugins run per stage assembly (an app-level plugin sees no stacks when every stack sits in a stage).
  if (options.compliance ?? true)
    for (const stage of stages) Validations.of(stage).addPlugins(...compliancePacks(stage));
  return stages;
}
