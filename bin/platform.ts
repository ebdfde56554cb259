#!/usr/bin/env node
/**
 * CDK app entry point. Selects environments from the `env` context (`-c env=dev,prod`) or `MLP_ENVS`;
 * all of them by default. The only place the app reads process environment variables.
 */
import { App } from 'aws-cdk-lib';
import { ConfigError } from '../config';
import { buildPlatform } from '../lib/platform-app';

const app = new App();
const selection = String(app.node.tryGetContext('env') ?? process.env.MLP_ENVS ?? '')
  .split(',')
  .map((name) => name.trim())
  .filter((name) => name.length > 0);

try {
  buildPlatform(app, { environments: selection });
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`mlp: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
app.synth();
