/**
 * Compiles a column policy into the function that turns a source value into the text written out (or null).
 * Pseudonyms are HMAC-SHA256 under a per-column key derived from the master key (domain separation: the same
 * national id gives unrelated pseudonyms in two columns or datasets), over the NFC form of the value. Columns
 * that declare one linkage domain (`linkAs`) share its key instead, so the datasets they are in join on them.
 */
import { createHmac } from 'node:crypto';
import type { ColumnPolicy } from '../config/agent-config';

/** A source value as drivers return it. */
export type SourceValue = string | number | bigint | boolean | null | undefined | Uint8Array | Date;
/** Turns one source value into its output text; null writes an empty field. */
export type ColumnTransform = (value: SourceValue) => string | null;

/** Label of the domain-separation derivation, versioned so a scheme change cannot collide with the old one. */
export const PSEUDONYM_SCHEME = 'mlp-pseudonym/v1';
/** Label of a declared linkage domain's derivation (`linkAs`): never equal to a dataset's and column's. */
export const LINKED_PSEUDONYM_SCHEME = 'mlp-pseudonym-link/v1';

/**
 * The derivation domain of a pseudonymised column, as the manifest records it: `link:<domain>` for a declared
 * linkage, else `column:<dataset>/<column>`. Two extracts' pseudonyms of a column join only when domain and key
 * id agree.
 */
export function pseudonymDomain(policy: { readonly linkAs?: string }, dataset: string, column: string): string {
  return policy.linkAs === undefined ? `column:${dataset}/${column}` : `link:${policy.linkAs}`;
}

/** Context a transform may need. */
export interface TransformContext {
  readonly dataset: string;
  readonly column: string;
  /** Master pseudonymisation key (never logged). */
  readonly key: Buffer;
  /** Date ages are computed at (YYYY-MM-DD): the run's upper watermark, so reruns give the same output. */
  readonly asOf: string;
}

/** The transform for a kept/generalised/pseudonymised column (callers skip dropped columns). */
export function compileTransform(policy: ColumnPolicy, context: TransformContext): ColumnTransform {
  switch (policy.policy) {
    case 'keep':
      return (v) => text(v);
    case 'drop':
      return () => null;
    case 'hmac': {
      const domain =
        policy.linkAs === undefined
          ? `${PSEUDONYM_SCHEME}\0${context.dataset}\0${context.column}`
          : `${LINKED_PSEUDONYM_SCHEME}\0${policy.linkAs}`;
      const columnKey = createHmac('sha256', context.key).update(domain).digest();
      return (v) => {
        const t = text(v);
        return t === null ? null : createHmac('sha256', columnKey).update(t.normalize('NFC'), 'utf8').digest('hex');
      };
    }
    case 'generalise':
      switch (policy.method) {
        case 'buckets': {
          const edges = [...(policy.edges ?? [])].sort((a, b) => a - b);
          return (v) => {
            const x = numeric(v);
            if (x === null) return null;
            let i = 0;
            while (i < edges.length && x >= edges[i]) i++;
            return i === 0 ? `<${edges[0]}` : i === edges.length ? `>=${edges[i - 1]}` : `${edges[i - 1]}-${edges[i]}`;
          };
        }
        case 'age-band': {
          const [y, m, d] = context.asOf.split('-').map(Number);
          return (v) => {
            const t = text(v);
            const match = t === null ? null : /^(\d{4})-(\d{2})-(\d{2})/.exec(t);
            if (!match) return null;
            const [by, bm, bd] = [Number(match[1]), Number(match[2]), Number(match[3])];
            const age = y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
            if (age < 0) return null;
            const width = policy.width ?? 10;
            const low = Math.floor(age / width) * width;
            return `${low}-${low + width - 1}`;
          };
        }
        case 'postcode-prefix':
          return (v) => {
            const t = text(v);
            if (t === null) return null;
            const compact = t.trim().toUpperCase();
            const space = compact.indexOf(' ');
            return space > 0 ? compact.slice(0, space) : compact.length > 3 ? compact.slice(0, -3) : null;
          };
        case 'month':
          return (v) => {
            const t = text(v);
            const match = t === null ? null : /^(\d{4}-\d{2})/.exec(t);
            return match ? match[1] : null;
          };
      }
  }
}

function text(v: SourceValue): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return String(v);
}

function numeric(v: SourceValue): number | null {
  if (v === null || v === undefined) return null;
  const x = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : Number(String(v));
  return Number.isFinite(x) ? x : null;
}
