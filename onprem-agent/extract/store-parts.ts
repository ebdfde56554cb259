/**
 * The run's gzip CSV parts, assembled from the spool without the suppressed groups' rows and stored one by
 * one, each journaled as it lands. On a resumed run a part already stored is not sent again, provided it comes
 * out byte for byte the same; if not, the source changed since the crash ({@link StaleRun}).
 */
import { landing } from '../../contracts/s3-layout';
import type { DatasetConfig } from '../config/agent-config';
import type { ObjectStore } from '../sink/object-store';
import { csvLine } from './csv';
import type { Journal, JournaledPart } from './journal';
import { sha256 } from './sha256';
import { lineMember, readSpool, withoutGroups } from './spool';

/** Raised when a resumed run cannot reproduce a part it already stored: the source changed since the crash. */
export class StaleRun extends Error {}

/** Inputs of {@link storeParts}. */
export interface StorePartsOptions {
  readonly dataset: DatasetConfig;
  readonly runId: string;
  readonly outputColumns: readonly string[];
  readonly spoolPath: string;
  /** Groups (as the spool numbers them) whose rows k-anonymity suppresses. */
  readonly suppressed: ReadonlySet<number>;
  readonly store: ObjectStore;
  readonly journal: Journal;
  /** Rows stored so far, after each part. */
  readonly progress?: (rows: number) => void;
}

/** Stores the parts (at most `partRows` rows each, whole spool chunks); returns them in order and their rows. */
export async function storeParts(options: StorePartsOptions): Promise<{ parts: JournaledPart[]; rows: number }> {
  const { dataset, journal } = options;
  const stored = journal.parts();
  const header = lineMember(csvLine(options.outputColumns));
  const parts: JournaledPart[] = [];
  let members: Buffer[] = [];
  let partRows = 0;
  let rows = 0;
  const flush = async () => {
    if (partRows === 0) return;
    const index = parts.length;
    const key = landing.partKey(dataset.name, options.runId, index);
    const body = Buffer.concat([header, ...members]);
    const digest = sha256(body);
    const part = { index, key, rows: partRows, bytes: body.length, sha256: digest };
    const previous = stored.get(index);
    if (previous && previous.sha256 !== digest) {
      throw new StaleRun(`${dataset.name}: resumed part ${index} differs from the stored one`);
    }
    if (!previous) {
      await options.store.putIfAbsent(key, body, digest);
      journal.partStored(part);
    }
    parts.push(part);
    rows += partRows;
    members = [];
    partRows = 0;
    options.progress?.(rows);
  };
  for (const chunk of readSpool(options.spoolPath)) {
    const kept = withoutGroups(chunk, options.suppressed);
    if (!kept) continue;
    if (partRows + kept.rows > dataset.partRows) await flush();
    members.push(kept.member);
    partRows += kept.rows;
  }
  await flush();
  return { parts, rows };
}
