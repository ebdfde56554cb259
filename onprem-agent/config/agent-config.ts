/**
 * The agent's configuration (YAML or JSON): where rows come from, where extracts go, the pseudonymisation key,
 * and for every dataset a policy for **every** column. Validated before anything runs; errors name the field.
 * Secrets are never in the file: the Oracle password and the HMAC key come from an environment variable or a
 * file named here.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { mlpHomeOf } from '../../contracts/mlp-home';
import { parse as parseYaml } from 'yaml';
import { namesDirectIdentifier } from '../anonymise/direct-identifiers';
import { z } from 'zod';
import { describeIssues } from '../../contracts/describe-issues';

/** Identifiers (tables, columns) must match this pattern and come from the config: SQL never takes free text. */
export const SQL_IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]{0,127}$/;
const identifier = z.string().regex(SQL_IDENTIFIER, 'must be a plain SQL identifier (letters, digits, _)');
const tableName = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_]{0,127}(\.[A-Za-z][A-Za-z0-9_]{0,127})?$/,
    'must be [schema.]table with plain identifiers',
  );
const secretRef = z
  .object({
    env: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/)
      .optional(),
    file: z.string().min(1).optional(),
  })
  .strict()
  .refine((r) => (r.env ? 1 : 0) + (r.file ? 1 : 0) === 1, 'give exactly one of env or file');

const policy = z.discriminatedUnion('policy', [
  z.object({ policy: z.literal('drop') }).strict(),
  // `identifier: false`: reviewed, the column is not a direct identifier whatever its name or values look like.
  z.object({ policy: z.literal('keep'), identifier: z.literal(false).optional() }).strict(),
  z
    .object({
      policy: z.literal('hmac'),
      /**
       * A linkage domain, on a primary key only: every key pseudonymised with the same `linkAs` (in any dataset)
       * gets the same pseudonym for the same value, so the datasets join on it (loans and their outcomes, by
       * loan). Without it a column's pseudonyms are its own: they link to nothing else.
       */
      linkAs: z
        .string()
        .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'must be lower-case letters, digits, _ or -')
        .optional(),
    })
    .strict(),
  z
    .object({
      policy: z.literal('generalise'),
      method: z.enum(['buckets', 'age-band', 'postcode-prefix', 'month']),
      /** buckets: ascending bucket edges. */
      edges: z.array(z.number()).min(1).optional(),
      /** age-band: width of an age band in years (age from a birth date). */
      width: z.number().int().min(1).max(50).optional(),
    })
    .strict()
    .superRefine((g, ctx) => {
      if (g.method === 'buckets' && !g.edges)
        ctx.addIssue({ code: 'custom', path: ['edges'], message: 'buckets need edges' });
      if (g.method === 'age-band' && !g.width)
        ctx.addIssue({ code: 'custom', path: ['width'], message: 'age-band needs a width' });
    }),
]);

const dataTest = z.discriminatedUnion('test', [
  z.object({ test: z.literal('not-null'), column: identifier }).strict(),
  z.object({ test: z.literal('unique'), column: identifier }).strict(),
  z
    .object({
      test: z.literal('accepted-values'),
      column: identifier,
      values: z.array(z.union([z.string(), z.number()])).min(1),
    })
    .strict(),
  z
    .object({ test: z.literal('range'), column: identifier, min: z.number().optional(), max: z.number().optional() })
    .strict(),
]);

const dataset = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'must be lower-case letters, digits, _ or -'),
    table: tableName,
    primaryKey: identifier,
    watermark: z
      .object({
        column: identifier,
        lagSeconds: z
          .number()
          .int()
          .min(0)
          .max(86_400 * 30),
      })
      .strict(),
    columns: z.record(identifier, policy),
    quasiIdentifiers: z.array(identifier).default([]),
    k: z.number().int().min(2).max(1000).default(5),
    /** Largest fraction of rows the k-anonymity gate may suppress before the run aborts. */
    maxSuppressedFraction: z.number().min(0).max(0.5).default(0.01),
    /** Rows per part file (bounded part size). */
    partRows: z.number().int().min(1).max(10_000_000).default(250_000),
    tests: z.array(dataTest).default([]),
  })
  .strict()
  .superRefine((d, ctx) => {
    const known = new Set(Object.keys(d.columns));
    const need = (column: string, path: (string | number)[], why: string) => {
      if (!known.has(column))
        ctx.addIssue({ code: 'custom', path, message: `"${column}" has no column policy (${why})` });
    };
    need(d.primaryKey, ['primaryKey'], 'primary key');
    need(d.watermark.column, ['watermark', 'column'], 'watermark');
    d.quasiIdentifiers.forEach((q, i) => {
      need(q, ['quasiIdentifiers', i], 'quasi-identifier');
      if (d.columns[q]?.policy === 'drop')
        ctx.addIssue({ code: 'custom', path: ['quasiIdentifiers', i], message: `"${q}" is dropped` });
    });
    d.tests.forEach((t, i) => need(t.column, ['tests', i, 'column'], 'data test'));
    for (const [column, p] of Object.entries(d.columns)) {
      if (p.policy === 'keep' && p.identifier !== false && namesDirectIdentifier(column)) {
        ctx.addIssue({
          code: 'custom',
          path: ['columns', column],
          message:
            `"${column}" is named like a direct identifier and would leave the bank as it is: use hmac or drop ` +
            '(or, once reviewed, keep it with identifier: false)',
        });
      }
    }
    for (const [column, p] of Object.entries(d.columns)) {
      if (p.policy === 'hmac' && p.linkAs !== undefined && column !== d.primaryKey) {
        ctx.addIssue({
          code: 'custom',
          path: ['columns', column, 'linkAs'],
          message: `only the primary key (${d.primaryKey}) may link datasets: a linked ${column} would join rows the policy keeps apart`,
        });
      }
    }
    if (d.columns[d.primaryKey]?.policy === 'drop')
      ctx.addIssue({ code: 'custom', path: ['primaryKey'], message: 'the primary key cannot be dropped' });
  });

/** Schema of an agent config file. */
export const agentConfigSchema = z
  .object({
    source: z.discriminatedUnion('type', [
      z.object({ type: z.literal('sqlite'), path: z.string().min(1) }).strict(),
      z
        .object({
          type: z.literal('oracle'),
          connectString: z.string().min(1),
          user: z.string().min(1),
          password: secretRef,
        })
        .strict(),
    ]),
    sink: z.discriminatedUnion('type', [
      z.object({ type: z.literal('filesystem'), root: z.string().min(1) }).strict(),
      z
        .object({
          type: z.literal('s3'),
          bucket: z.string().min(3),
          region: z.string().min(1),
          /** The S3 interface endpoint, e.g. https://vpce-…s3.eu-west-2.vpce.amazonaws.com */
          endpoint: z.url().optional(),
          forcePathStyle: z.boolean().default(false),
          maxAttempts: z.number().int().min(1).max(20).default(6),
          kmsKeyId: z.string().min(1),
        })
        .strict(),
    ]),
    pseudonymisation: z.object({ kid: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/), key: secretRef }).strict(),
    /** Directory of the agent's journal and watermarks. */
    stateDir: z.string().min(1),
    datasets: z.array(dataset).min(1),
  })
  .strict();

/** A validated agent config, with relative paths resolved against the config file's directory. */
export type AgentConfig = z.output<typeof agentConfigSchema>;
/** One dataset of a config. */
export type DatasetConfig = AgentConfig['datasets'][number];
/** One column policy. */
export type ColumnPolicy = DatasetConfig['columns'][string];

/** A config problem; the message names the file and field. */
export class AgentConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentConfigError';
  }
}

/** Reads and validates a YAML or JSON config file. */
export function loadAgentConfig(path: string): AgentConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'error');
    throw new AgentConfigError(`cannot read the agent config ${path}: ${why}`);
  }
  let document: unknown;
  try {
    document = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new AgentConfigError(
      `${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  return parseAgentConfig(document, path);
}

/**
 * A path of the config as the agent uses it: `${MLP_HOME}` at its start stands for the local home of `mlp`
 * (`$MLP_HOME`, default `.mlp` under the current directory), so one example config serves every home; any other
 * path is relative to the config file's directory. No other `${…}` is expanded: secrets are never given this way.
 */
export function configPath(path: string, base: string, env: NodeJS.ProcessEnv = process.env): string {
  const home = /^\$\{MLP_HOME\}(?=$|\/)/.exec(path);
  if (home) return resolve(mlpHomeOf(env), `.${path.slice(home[0].length)}`);
  if (path.includes('${')) {
    throw new AgentConfigError(`path "${path}": only \${MLP_HOME}, at the start of a path, is expanded`);
  }
  return resolve(base, path);
}

/** Validates a parsed config; `origin` names the file in errors and anchors relative paths. */
export function parseAgentConfig(document: unknown, origin: string): AgentConfig {
  const result = agentConfigSchema.safeParse(document, { reportInput: true });
  if (!result.success) {
    const problems = describeIssues(result.error.issues);
    throw new AgentConfigError(`${origin} is invalid:\n  ${problems.join('\n  ')}`);
  }
  const base = dirname(resolve(origin));
  const config = result.data;
  const at = (p: string) => configPath(p, base);
  return {
    ...config,
    source: config.source.type === 'sqlite' ? { ...config.source, path: at(config.source.path) } : config.source,
    sink: config.sink.type === 'filesystem' ? { ...config.sink, root: at(config.sink.root) } : config.sink,
    stateDir: at(config.stateDir),
    pseudonymisation: {
      ...config.pseudonymisation,
      key: config.pseudonymisation.key.file
        ? { file: at(config.pseudonymisation.key.file) }
        : config.pseudonymisation.key,
    },
  };
}

/**
 * Reads a secret named by the config (never logged). A file's trailing line breaks are not part of the secret
 * (`echo KEY > file` and editors add one), so a key gives the same bytes, and the same pseudonyms, from a file as
 * from the environment.
 */
export function readSecret(ref: { env?: string; file?: string }, what: string): Buffer {
  if (ref.env) {
    const value = process.env[ref.env];
    if (!value) throw new AgentConfigError(`${what}: environment variable ${ref.env} is not set`);
    return Buffer.from(value, 'utf8');
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(ref.file!);
  } catch (error) {
    throw new AgentConfigError(
      `${what}: cannot read ${ref.file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
  if (end === 0) throw new AgentConfigError(`${what}: ${ref.file} is empty`);
  return bytes.subarray(0, end);
}
