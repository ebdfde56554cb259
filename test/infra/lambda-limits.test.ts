/**
 * Lambda's own limit on what a function carries: its environment variables, keys and values together, at most
 * 4 KB. Settings passed as JSON (RETRAINING_SETTINGS, with the reason-code table) must stay within it in every
 * environment, or the first deploy fails. References resolve at deploy time; each counts as 128 characters,
 * more than any ARN or bucket name it stands for here.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ENVIRONMENTS } from '../../config';
import { synthesizePlatform } from '../support/platform';

const LAMBDA_ENVIRONMENT_LIMIT = 4096;
const REFERENCE = 128;

/** The characters a CloudFormation value takes once deployed, references counted at {@link REFERENCE}. */
function deployedLength(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number' || typeof value === 'boolean') return String(value).length;
  if (value && typeof value === 'object') {
    const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
    if (join) {
      const [separator, parts] = join;
      return (
        parts.reduce<number>((total, part) => total + deployedLength(part), 0) + separator.length * (parts.length - 1)
      );
    }
    return REFERENCE;
  }
  return 0;
}

const { stages } = synthesizePlatform(Object.keys(ENVIRONMENTS));

test.each(Object.keys(ENVIRONMENTS))('%s: every function environment fits within 4 KB', (envName) => {
  const stacks = stages[envName].node.findAll().filter((c): c is Stack => Stack.isStack(c));
  const sizes: Record<string, number> = {};
  for (const stack of stacks) {
    const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    for (const [id, resource] of Object.entries(functions)) {
      const variables = (resource.Properties.Environment?.Variables ?? {}) as Record<string, unknown>;
      sizes[`${stack.stackName}/${id}`] = Object.entries(variables).reduce(
        (total, [key, value]) => total + key.length + deployedLength(value),
        0,
      );
    }
  }
  expect(Object.keys(sizes).length).toBeGreaterThan(5);
  const over = Object.entries(sizes).filter(([, size]) => size > LAMBDA_ENVIRONMENT_LIMIT);
  expect(over).toEqual([]);
  // The retraining steps carry the settings (the reason-code table included): the largest environment.
  expect(Math.max(...Object.values(sizes))).toBeGreaterThan(1500);
});
