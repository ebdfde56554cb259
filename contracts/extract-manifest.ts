/**
 * The extract manifest: what the on-prem agent writes last, create-only, beside an extract's parts, and what
 * ValidateManifest reads first. Its bytes' SHA-256 is the dataset version every model is traced to. The agent
 * builds an {@link ExtractManifest}; the pipeline accepts a document only through {@link parseExtractManifest}.
 */
import { z } from 'zod';
import { describeIssues } from './describe-issues';

/** Identifier of this manifest format, stored in every manifest. */
export const MANIFEST_FORMAT = 'mlp.extract-manifest/1';

const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  dataset: z.string(),
  runId: z.string(),
  createdAt: z.string(),
  /** The extract's parts, in order: key in the landing bucket, rows, bytes and SHA-256 of each. */
  parts: z
    .array(
      z.object({
        key: z.string(),
        rows: z.number().int().min(0),
        bytes: z.number().int().min(0),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
      }),
    )
    .min(1),
  totalRows: z.number().int().min(1),
  /** Rows the k-anonymity gate left out. */
  suppressedRows: z.number().int().min(0),
  /** Output column → `string`, `integer` or `number`, in the parts' column order. */
  schema: z.record(z.string(), z.string()),
  /** SHA-256 of the column policy the rows were anonymised under. */
  policySha256: z.string(),
  /** Key id of the pseudonymisation key. */
  kid: z.string(),
  /**
   * Each pseudonymised column's derivation domain (`column:<dataset>/<column>`, or `link:<domain>` for a declared
   * linkage): with the key id, what decides whether its pseudonyms join another extract's. Absent from manifests
   * of agents before it was recorded.
   */
  pseudonyms: z.record(z.string(), z.string()).optional(),
  k: z.number(),
  quasiIdentifiers: z.array(z.string()),
  /** The incremental window: the watermark column and the values it ran from, to and up to. */
  watermark: z.object({ column: z.string(), from: z.unknown(), to: z.unknown(), upperBound: z.unknown() }),
  agentVersion: z.string(),
});

/** An extract manifest. */
export type ExtractManifest = z.infer<typeof manifestSchema>;

/** Validates a parsed manifest: the manifest, or one line per problem (the document is never echoed). */
export function parseExtractManifest(
  document: unknown,
): { ok: true; manifest: ExtractManifest } | { ok: false; problems: string[] } {
  const result = manifestSchema.safeParse(document);
  return result.success
    ? { ok: true, manifest: result.data }
    : { ok: false, problems: describeIssues(result.error.issues) };
}
