/**
 * JSON Schemas of the retraining entry points' input types (test/support/step-inputs.ts), generated from the
 * TypeScript with ts-json-schema-generator, and a check of a rendered payload against its entry point's schema:
 * required members present, types right. Members the type does not name are allowed (a state may pass the
 * whole execution state; the handler reads what its type names).
 */
import { join } from 'node:path';
import Ajv from 'ajv';
import { createGenerator } from 'ts-json-schema-generator';
import type { StepInputs } from '../step-inputs';

const ROOT = join(__dirname, '..', '..', '..');

/** Checks payloads against the input type of the entry point they are sent to. */
export interface StepInputCheck {
  /** Problems of `payload` as input of `entry` (empty: it is one), each naming the path of the member. */
  problems(entry: keyof StepInputs, payload: unknown): string[];
}

/** The schema without `additionalProperties: false` (mapped types such as `Pick` get it whatever the config). */
function allowingOtherMembers<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map(allowingOtherMembers) as T;
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key, value]) => !(key === 'additionalProperties' && value === false))
      .map(([key, value]) => [key, allowingOtherMembers(value)]),
  ) as T;
}

/** Generates the schemas (a few seconds: it type-checks the step modules). */
export function stepInputCheck(): StepInputCheck {
  const schema = createGenerator({
    path: join(ROOT, 'test', 'support', 'step-inputs.ts'),
    tsconfig: join(ROOT, 'tsconfig.json'),
    type: 'StepInputs',
    additionalProperties: true,
    skipTypeCheck: true,
  }).createSchema('StepInputs');
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addSchema(allowingOtherMembers(schema), 'steps');
  return {
    problems(entry, payload) {
      const validate = ajv.getSchema(`steps#/definitions/StepInputs/properties/${entry}`);
      if (!validate) throw new Error(`no schema for ${entry}`);
      if (validate(payload)) return [];
      return (validate.errors ?? []).map((e) => `${entry}${e.instancePath || ''}: ${e.message ?? 'invalid'}`);
    },
  };
}
