/**
 * The retraining state machine's definition as the CDK app synthesizes it for an environment, for whoever must
 * run or inspect the very definition a deployment would get (the local runner): the stage is synthesized with
 * the project's feature flags, without Lambda bundling and without the compliance plugins.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import cdkJson from '../../cdk.json';
import type { EnvironmentConfig } from '../../config';
import { PlatformStage } from '../platform-stage';

/** A CloudFormation value: JSON, possibly with intrinsic functions (`Ref`, `Fn::Join`, …) in it. */
export type CfnValue = null | boolean | number | string | CfnValue[] | { [key: string]: CfnValue };

/** The `DefinitionString` of the environment's retraining state machine, intrinsics unresolved. */
export function synthesizedRetrainingDefinition(config: EnvironmentConfig): CfnValue {
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'mlp-local-cdk-')),
    context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] },
  });
  const stage = new PlatformStage(app, { config });
  const template = stage.synth().getStackByName(Stack.of(stage.retraining).stackName).template as {
    Resources: Record<string, { Type: string; Properties: Record<string, CfnValue> }>;
  };
  const machine = Object.values(template.Resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (!machine) throw new Error('the Retraining stack has no state machine');
  return machine.Properties.DefinitionString;
}
