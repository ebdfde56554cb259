/**
 * The JSON Schema of a scoring request, built from the model's features: one property per feature (a number or
 * null for a numeric feature; a string or null for a categorical one, its known categories listed), nothing
 * else. The private API's request model in CDK (features from the environment's configuration) and the local
 * server's `/openapi.json` (features and categories from the model's feature spec) are both this schema, and it
 * says what the handler enforces: unknown fields and wrong types are refused, an unknown category scores as
 * missing. Written in the subset JSON Schema draft 4 (API Gateway) and 2020-12 (OpenAPI 3.1) share.
 */
import { FLOAT32_MAX } from '../features/vectorizer';
import { PSEUDONYM_PATTERN } from '../../contracts/pseudonym';
import { MAX_REASONS } from '../../contracts/reason-codes';
import { DEFAULT_REASONS, MAX_EXPLAINED_RECORDS, MAX_RECORDS } from './request';

/** A feature as the request schema needs it. */
export interface RequestFeature {
  readonly name: string;
  readonly type: 'numeric' | 'categorical';
  /** Known categories (the feature spec's); unknown at synth time, where only the names are configured. */
  readonly categories?: readonly string[];
}

/** The JSON Schema subset these schemas use. */
export interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly description?: string;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean;
  readonly items?: JsonSchema;
  readonly minItems?: number;
  readonly pattern?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly enum?: readonly (string | boolean | null)[];
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly not?: JsonSchema;
}

/** Schema of one record: the model's features, each optional (a missing field is a missing value). */
export function recordSchema(features: readonly RequestFeature[]): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const feature of features) {
    if (feature.type === 'numeric') {
      properties[feature.name] = {
        type: ['number', 'null'],
        minimum: -FLOAT32_MAX,
        maximum: FLOAT32_MAX,
        description: 'numeric (within float32); null or absent is missing',
      };
    } else if (feature.categories?.length) {
      properties[feature.name] = {
        description: 'categorical: one of the listed categories; another string scores as missing, as does null',
        anyOf: [{ enum: [...feature.categories] }, { type: ['string', 'null'] }],
      };
    } else {
      properties[feature.name] = {
        type: ['string', 'null'],
        description: 'categorical; a category the model was not trained on scores as missing, as does null',
      };
    }
  }
  return { type: 'object', properties, additionalProperties: false };
}

/**
 * Schema of a request body: `{"records": [record, …], "keys"?: [key, …]}` or `{"record": record, "key"?: key}`,
 * a key being the record's pseudonymous key, captured with its prediction for the join with outcomes; either
 * with `"explain": true` (and `"reasons": k`) for each decision's adverse reasons. The cap of
 * records per request is stated, not enforced here: the handler answers 413 beyond it, which a schema failure
 * (400) would contradict.
 */
export function scoringRequestSchema(features: readonly RequestFeature[]): JsonSchema {
  const record = recordSchema(features);
  const key: JsonSchema = {
    type: 'string',
    pattern: PSEUDONYM_PATTERN.source,
    description: "the record's pseudonymous key, as the agent writes it; captured with the prediction",
  };
  return {
    type: 'object',
    description: `1 to ${MAX_RECORDS} records per request (more: 413); keys, when given, one per record`,
    properties: {
      records: { type: 'array', minItems: 1, items: record },
      keys: { type: 'array', minItems: 1, items: key },
      record,
      key,
      explain: {
        type: 'boolean',
        description: `true: each decision's strongest adverse reasons too (at most ${MAX_EXPLAINED_RECORDS} records)`,
      },
      reasons: {
        type: 'integer',
        minimum: 1,
        maximum: MAX_REASONS,
        description: `reasons per explained decision (default ${DEFAULT_REASONS}); only with explain: true`,
      },
    },
    additionalProperties: false,
    oneOf: [{ required: ['records'] }, { required: ['record'] }],
    // reasons only with explain: true
    anyOf: [{ not: { required: ['reasons'] } }, { required: ['explain'], properties: { explain: { enum: [true] } } }],
  };
}
