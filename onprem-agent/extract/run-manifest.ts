/**
 * The manifest of a finished extract run (contracts/extract-manifest.ts): its parts with their checksums, the
 * output schema, the policy and key id it was anonymised under, the k-anonymity parameters and the watermark
 * window it covers (positions with the primary key as the extract writes it). Stored after every part, it is what
 * makes a run visible to the pipeline.
 */
import { type ExtractManifest, MANIFEST_FORMAT } from '../../contracts/extract-manifest';
import { pseudonymDomain } from '../anonymise/column-transform';
import type { AgentConfig, DatasetConfig } from '../config/agent-config';
import type { SourceColumn } from '../source/source';
import type { ExtractPlan } from './extract-plan';
import type { JournaledPart, WatermarkPosition } from './journal';

/** Version written into every manifest. */
export const AGENT_VERSION = '0.1.0';

/** What the run produced, for {@link runManifest}. */
export interface RunOutput {
  readonly parts: readonly JournaledPart[];
  readonly rows: number;
  readonly suppressedRows: number;
  /** Watermark position of the last row read. */
  readonly last: WatermarkPosition | null;
}

/**
 * The primary key as the extract writes it (its column policy: a pseudonym under `hmac`): a watermark position
 * leaves the bank with that, never the raw key.
 */
export type KeyAsWritten = (key: string | number) => string | number | null;

/** The manifest of a run. */
export function runManifest(
  config: AgentConfig,
  dataset: DatasetConfig,
  planned: ExtractPlan & { readonly columns: readonly SourceColumn[] },
  output: RunOutput,
  keyAsWritten: KeyAsWritten,
): ExtractManifest {
  const { plan } = planned;
  const position = (p: WatermarkPosition | null) => p && { value: p.value, key: keyAsWritten(p.key) };
  return {
    format: MANIFEST_FORMAT,
    dataset: dataset.name,
    runId: plan.runId,
    createdAt: plan.startedAt,
    parts: output.parts.map(({ key, rows, bytes, sha256 }) => ({ key, rows, bytes, sha256 })),
    totalRows: output.rows,
    suppressedRows: output.suppressedRows,
    schema: Object.fromEntries(planned.outputColumns.map((name) => [name, outputType(dataset, planned.columns, name)])),
    policySha256: plan.policySha256,
    kid: config.pseudonymisation.kid,
    pseudonyms: Object.fromEntries(
      planned.outputColumns.flatMap((name) => {
        const policy = dataset.columns[name];
        return policy.policy === 'hmac' ? [[name, pseudonymDomain(policy, dataset.name, name)]] : [];
      }),
    ),
    k: dataset.k,
    quasiIdentifiers: dataset.quasiIdentifiers,
    watermark: {
      column: dataset.watermark.column,
      from: position(plan.from),
      to: position(output.last),
      upperBound: plan.upperBound,
    },
    agentVersion: AGENT_VERSION,
  };
}

/** Output type of a column in the manifest schema: kept numbers stay numbers, everything else is a string. */
function outputType(dataset: DatasetConfig, columns: readonly SourceColumn[], name: string): string {
  const policy = dataset.columns[name];
  if (policy.policy !== 'keep') return 'string';
  const type = columns.find((c) => c.name === name)!.type;
  if (/INT/.test(type)) return 'integer';
  if (/REAL|FLOA|DOUB|NUM|DEC/.test(type)) return 'number';
  return 'string';
}
