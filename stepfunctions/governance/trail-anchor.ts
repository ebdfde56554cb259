/**
 * Anchors of the approval trail outside it: when a version's story ends (its model card is written), the
 * registry records the sequence number and hash of the version's last trail entry (metadata
 * `approvalTrailAnchor`, `<sequence>:<sha256>`). The hash chain makes that entry's hash stand for every entry up
 * to it, so a trail cut off below an anchor, or rewritten and re-chained from before one, no longer holds the
 * anchored entry: `mlp audit` names it, and a version's card is never re-anchored past the anchor it lost (other
 * versions' steps may still append to such a trail; audit keeps naming the lost anchor). Entries after the last
 * anchor (a request still waiting) are covered by the chain alone. The anchor defends against a writer of the trail
 * who cannot update the registry (sagemaker:UpdateModelPackage); the deployer role can do both.
 */
import { MODEL_CARD_FIELDS } from '../model-registry';
import type { TrailEntry } from './approval-trail';

/** The registry metadata key of a version's anchor. */
export const TRAIL_ANCHOR_FIELD = MODEL_CARD_FIELDS.trailAnchor;

/** An anchored entry: its sequence number and hash. */
export interface TrailAnchor {
  readonly sequence: number;
  readonly hash: string;
}

const ANCHOR_FORM = /^([1-9]\d{0,9}):([0-9a-f]{64})$/;

/** The anchor of an entry, as the registry records it. */
export function anchorText(entry: Pick<TrailEntry, 'sequence' | 'hash'>): string {
  return `${entry.sequence}:${entry.hash}`;
}

/** Parses a recorded anchor; undefined when it is not `<sequence>:<sha256>`. */
export function parseAnchor(text: string): TrailAnchor | undefined {
  const match = ANCHOR_FORM.exec(text);
  return match ? { sequence: Number(match[1]), hash: match[2] } : undefined;
}

/** What in `entries` (read in sequence order) the anchor does not find there; undefined when it holds. */
export function anchorProblem(entries: readonly unknown[], anchor: TrailAnchor): string | undefined {
  const entry = (entries as readonly Partial<TrailEntry>[]).find((e) => e?.sequence === anchor.sequence);
  if (entry === undefined) {
    return anchor.sequence > entries.length
      ? `the trail ends at entry ${entries.length}: entries were cut off its end`
      : `entry ${anchor.sequence} is gone from the trail`;
  }
  if (entry.hash !== anchor.hash) {
    return `entry ${anchor.sequence} is not the one anchored (hash ${anchor.hash.slice(0, 12)}): the trail was rewritten up to it`;
  }
  return undefined;
}

/** One registered version's recorded metadata, as the registry lists it. */
export interface AnchoredVersion {
  readonly modelVersion: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * Every anchor of `versions` the trail does not hold, one message each naming the version (none: every anchor
 * holds), and how many anchors were checked.
 */
export function anchorProblems(
  entries: readonly unknown[],
  versions: readonly AnchoredVersion[],
): { problems: string[]; checked: number } {
  const problems: string[] = [];
  let checked = 0;
  for (const version of versions) {
    const text = version.metadata[TRAIL_ANCHOR_FIELD];
    if (text === undefined) continue;
    checked++;
    const anchor = parseAnchor(text);
    if (!anchor) {
      problems.push(`the registry's ${TRAIL_ANCHOR_FIELD} of ${version.modelVersion} is not <sequence>:<sha256>`);
      continue;
    }
    const problem = anchorProblem(entries, anchor);
    if (problem)
      problems.push(`the registry anchors ${version.modelVersion} at entry ${anchor.sequence}, but ${problem}`);
  }
  return { problems, checked };
}
