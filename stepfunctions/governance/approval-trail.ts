/**
 * The approval trail: every gate decision and every human decision about a model version, as an append-only
 * chain of records nobody can rewrite unnoticed. Each entry is one object (`<trail>/<sequence>.json`, written
 * only if absent: S3's conditional create, an exclusive link locally), holds the SHA-256 of the entry before it
 * and its own hash over its canonical JSON (RFC 8785), so an entry changed, removed or moved in the middle breaks
 * the chain there. Not detected by the chain alone: entries cut off its end, or a suffix re-chained by a writer
 * (the head is not anchored elsewhere and entries are not signed). In AWS the trail lives in the audit bucket
 * (`approvals/<env>/`; Object Lock in prod keeps every version an object had); locally in the local twin's audit
 * bucket, `$MLP_HOME/s3/mlp-local-<env>-audit/approvals/<env>/`.
 *
 * Who decided, as the writer ran: the state machine for its own decisions, the operating-system account for a
 * local human decision, the caller's IAM identity (STS) for `mlp approve --env` (approval-decision.ts).
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { stateMachineName } from '../../contracts/resource-names';
import { modelVersionOf } from '../model-registry';
import { sdkErrorSummary } from '../sdk-error';

/** Identifier of this entry format. */
export const TRAIL_FORMAT = 'mlp.approval-trail/1';

/** What happened to a model version. */
export type TrailEvent =
  'gate-passed' | 'gate-failed' | 'approval-requested' | 'approved' | 'rejected' | 'deployed' | 'rolled-back';

/** Who or what decided. */
export interface TrailPrincipal {
  /** `iam`: an AWS identity's ARN; `os-user`: the local account; `state-machine`: the retraining execution. */
  readonly kind: 'iam' | 'os-user' | 'state-machine';
  readonly id: string;
}

/** What an entry records, before the trail numbers and chains it. */
export interface TrailRecord {
  readonly environment: string;
  readonly modelVersion: string;
  readonly event: TrailEvent;
  readonly principal: TrailPrincipal;
  /** Why (a human's reason, the gate's reasons). */
  readonly reason?: string;
  /** Evidence: metrics the decision saw, the execution, the model package. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** One entry as stored. */
export interface TrailEntry extends TrailRecord {
  readonly format: typeof TRAIL_FORMAT;
  /** 1, 2, … in order of appending. */
  readonly sequence: number;
  readonly at: string;
  /** Hash of the entry before (null for the first). */
  readonly previous: string | null;
  /** SHA-256 (hex) of this entry's canonical JSON without `hash`. */
  readonly hash: string;
}

/** Where entries are kept: objects that can be created once, read and listed. */
export interface TrailStore {
  get(uri: string): Promise<Uint8Array>;
  /** URIs under a prefix, sorted. */
  list(prefixUri: string): Promise<string[]>;
  /** Writes an object only if none exists at `uri`; false when one does. */
  create(uri: string, body: string): Promise<boolean>;
}

/** A trail whose chain does not hold: what is wrong, entry by entry. */
export class TrailTampered extends Error {
  constructor(readonly problems: readonly string[]) {
    const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
    super(`the approval trail does not verify: ${problems.slice(0, 5).join('; ')}${more}`);
    this.name = 'TrailTampered';
  }
}

const SEQUENCE_DIGITS = 10;
/** Tries of an append whose number another writer keeps taking. */
const APPEND_ATTEMPTS = 16;

/** The hash an entry must carry. */
export function entryHash(entry: Omit<TrailEntry, 'hash'> & { hash?: string }): string {
  const { hash: _, ...content } = entry;
  return createHash('sha256').update(canonicalize(content)!).digest('hex');
}

/**
 * Checks a trail read in sequence order: each entry's format, its number (1, 2, … without gaps), its link to
 * the entry before and its own hash. Returns the problems (none: the chain holds).
 */
export function verifyTrail(entries: readonly unknown[]): string[] {
  const problems: string[] = [];
  let previous: string | null = null;
  entries.forEach((raw, i) => {
    const at = `entry ${i + 1}`;
    const entry = raw as Partial<TrailEntry>;
    if (!entry || typeof entry !== 'object' || entry.format !== TRAIL_FORMAT) {
      problems.push(`${at} is not a trail entry (${TRAIL_FORMAT})`);
      previous = null;
      return;
    }
    if (entry.sequence !== i + 1)
      problems.push(`${at} carries sequence ${entry.sequence}: an entry is missing or moved`);
    if (entry.previous !== previous) problems.push(`${at} does not link to the entry before it`);
    if (entry.hash !== entryHash(entry as TrailEntry)) problems.push(`${at} was changed after it was written`);
    previous = entry.hash ?? null;
  });
  return problems;
}

/** One environment's approval trail under `prefixUri` (ending in `/`). */
export class ApprovalTrail {
  constructor(
    private readonly store: TrailStore,
    private readonly prefixUri: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Every entry in order; throws {@link TrailTampered} when the chain does not hold. */
  async entries(): Promise<TrailEntry[]> {
    const entries = await this.read();
    const problems = verifyTrail(entries);
    if (problems.length) throw new TrailTampered(problems);
    return entries as TrailEntry[];
  }

  /** The entries as stored, unverified (for `mlp audit`, which reports what does not hold). */
  async read(): Promise<unknown[]> {
    const uris = (await this.store.list(this.prefixUri)).filter((uri) =>
      new RegExp(`^\\d{${SEQUENCE_DIGITS}}\\.json$`).test(uri.slice(this.prefixUri.length)),
    );
    return Promise.all(
      uris.map(async (uri) => {
        let text: string;
        try {
          text = Buffer.from(await this.store.get(uri)).toString('utf8');
        } catch (error) {
          // A read that fails (denied, throttled) is not a tampered entry: say which and why.
          const why = sdkErrorSummary(error) ?? (error as Error)?.message ?? String(error);
          throw new Error(`the approval trail entry ${uri} cannot be read: ${why}`, { cause: error });
        }
        try {
          return JSON.parse(text) as unknown;
        } catch {
          return { unreadable: uri }; // not JSON: verifyTrail names it
        }
      }),
    );
  }

  /**
   * Appends a record after the last entry (a trail that does not verify is refused: nothing is chained onto a
   * tampered one). Two writers racing for the same number: the loser reads again and takes the next. With
   * `once`, an entry of the same event, version and principal already there is returned instead. A record given
   * as a function is built on every try from the entries that try appends after, and may throw to refuse the
   * append (a decision another writer's entry made moot is refused even when it loses the race for the number).
   */
  async append(
    recordOf: TrailRecord | ((entries: readonly TrailEntry[]) => TrailRecord),
    options: { once?: boolean } = {},
  ): Promise<TrailEntry> {
    for (let attempt = 0; attempt < APPEND_ATTEMPTS; attempt++) {
      // The loser of a race backs off a random while, so racing writers spread out.
      if (attempt > 0) await new Promise((done) => setTimeout(done, Math.random() * 20 * attempt));
      const entries = await this.entries();
      const record = typeof recordOf === 'function' ? recordOf(entries) : recordOf;
      // A retried step records its decision once: the same event about the same version by the same principal.
      const same = options.once
        ? entries.find(
            (e) =>
              e.modelVersion === record.modelVersion &&
              e.event === record.event &&
              e.principal.id === record.principal.id,
          )
        : undefined;
      if (same) return same;
      const last = entries.at(-1);
      const content: Omit<TrailEntry, 'hash'> = {
        format: TRAIL_FORMAT,
        sequence: entries.length + 1,
        at: this.now().toISOString(),
        previous: last?.hash ?? null,
        ...record,
      };
      const entry: TrailEntry = { ...content, hash: entryHash(content) };
      const uri = `${this.prefixUri}${String(entry.sequence).padStart(SEQUENCE_DIGITS, '0')}.json`;
      if (await this.store.create(uri, `${JSON.stringify(entry, null, 2)}\n`)) return entry;
    }
    throw new Error(
      `could not append to the approval trail at ${this.prefixUri}: other writers kept taking the next entry`,
    );
  }

  /** The entries about one model version, in order. */
  async ofVersion(modelVersion: string): Promise<TrailEntry[]> {
    return (await this.entries()).filter((e) => e.modelVersion === modelVersion);
  }
}

/** The principal of the retraining state machine's own decisions (the gate, a deployment). */
export function stateMachinePrincipal(envName: string): TrailPrincipal {
  return { kind: 'state-machine', id: stateMachineName(envName) };
}

/**
 * Records that a registered candidate waits for a human decision: what the Approve state does, in Lambda and in
 * the local runner alike (once per version: a retried Approve records it once).
 */
export function recordApprovalRequest(
  trail: ApprovalTrail,
  envName: string,
  request: { readonly modelPackageArn: string; readonly execution?: string },
): Promise<TrailEntry> {
  return trail.append(
    {
      environment: envName,
      modelVersion: modelVersionOf(request.modelPackageArn),
      event: 'approval-requested',
      principal: stateMachinePrincipal(envName),
      details: {
        modelPackageArn: request.modelPackageArn,
        ...(request.execution ? { execution: request.execution } : {}),
      },
    },
    { once: true },
  );
}
