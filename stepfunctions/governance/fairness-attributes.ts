/**
 * Evaluate's half of the fairness gate: the protected attributes of the test split's rows, joined by the
 * pseudonymous key from the restricted attributes dataset (config `retraining.fairness.dataset`, an agent
 * dataset of its own, read as a side table: ../curated/side-table.ts), and the candidate's fairness report over
 * them (./fairness.ts). Nothing here throws for missing or unjoinable attributes: what kept a row or the whole
 * table from joining is a problem in the report, and the Gate fails a report with problems (fail closed).
 * Attribute values leave only as group names; keys never leave.
 */
import type { ArtifactStore } from '../artifact-store';
import { readSideTable, type SideTable } from '../curated/side-table';
import type { LoadedManifest } from '../extract-manifest';
import type { FairnessPolicy, RetrainingSettings } from '../retraining-settings';
import { StepError } from '../step-error';
import { type AttributeFairness, type FairnessReport, type FairnessRow, fairnessReport } from './fairness';

/** Most groups an attribute may have: more means it was not generalised (a raw date, a postcode). */
export const MAX_GROUPS = 50;

/** One scored test row: its pseudonymous key (absent in test splits written before keys were kept). */
export interface ScoredTestRow {
  readonly key?: string;
  readonly label: number;
  readonly score: number;
}

/** The side table of the attributes dataset, keyed as the training dataset. */
function attributesTable(settings: RetrainingSettings, policy: FairnessPolicy): SideTable {
  return {
    dataset: policy.dataset,
    keyColumn: settings.keyColumn,
    trainingDataset: settings.dataset,
    buckets: settings.buckets,
    mergeLanded: true,
    kind: 'attributes',
    awaitedBy: 'the fairness gate',
    check: (loaded) => checkAttributesExtract(loaded, settings.keyColumn, policy),
  };
}

/** An attributes extract must be of the dataset and carry the key and every configured attribute. */
function checkAttributesExtract({ manifest }: LoadedManifest, keyColumn: string, policy: FairnessPolicy): void {
  if (manifest.dataset !== policy.dataset) {
    throw new StepError('ManifestInvalid', `run ${manifest.runId} describes dataset ${manifest.dataset}`);
  }
  const missing = [keyColumn, ...policy.attributes].filter((c) => !(c in manifest.schema));
  if (missing.length > 0) {
    throw new StepError(
      'SchemaMismatch',
      `run ${manifest.runId} is no attributes extract of ${policy.dataset}: ${missing.join(', ')} missing`,
    );
  }
}

/** A group's name from a table value: null (and the empty text) is a missing value. */
function groupName(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const text = typeof value === 'string' ? value.trim() : String(value);
  return text.length === 0 ? null : text;
}

/**
 * The candidate's fairness report on its scored test rows under `policy`: the latest attributes of each key as
 * of the attributes table's last merged extract (the landed extracts merged first). Problems (none landed, an
 * extract not merged, keys that cannot join, rows without a key, an attribute with more than
 * {@link MAX_GROUPS} groups, whose groups are withheld) are in the report's `problems`.
 */
export async function fairnessOfCandidate(
  store: ArtifactStore,
  settings: RetrainingSettings,
  policy: FairnessPolicy,
  scored: readonly ScoredTestRow[],
): Promise<FairnessReport> {
  const problems: string[] = [];
  const byKey = new Map<string, Record<string, string | null>>();
  // Only the test keys' rows are read: Evaluate holds the test split's attributes, not the bank's.
  const keys = new Set(scored.flatMap((r) => (r.key === undefined ? [] : [r.key])));
  const rows = await readSideTable(store, attributesTable(settings, policy), policy.attributes, problems, { keys });
  for (const row of rows ?? []) {
    byKey.set(String(row.k), Object.fromEntries(policy.attributes.map((a) => [a, groupName(row[a])])));
  }
  const keyless = scored.filter((r) => r.key === undefined).length;
  if (keyless > 0) {
    problems.push(
      `${keyless} of ${scored.length} test rows carry no pseudonymous key (a test split written before keys ` +
        'were kept): retrain on a fresh Prepare',
    );
  }
  const joined: FairnessRow[] = scored.map((r) => ({
    label: r.label,
    score: r.score,
    attributes: (r.key !== undefined && byKey.get(r.key)) || null,
  }));
  if (rows !== undefined && byKey.size === 0 && scored.length > keyless) {
    problems.push(`none of the ${scored.length} test rows has a key in the ${policy.dataset} table`);
  }
  for (const attribute of policy.attributes) {
    const groups = new Set(joined.map((r) => r.attributes?.[attribute]).filter((g) => g !== null && g !== undefined));
    if (groups.size > MAX_GROUPS) {
      problems.push(
        `${attribute} has ${groups.size} groups among the test rows, more than ${MAX_GROUPS}: generalise it in ` +
          `the agent's policy of ${policy.dataset}`,
      );
    }
  }
  const report = fairnessReport(joined, policy.attributes, policy, problems);
  // An ungeneralised attribute's groups would name raw values of a few rows each: none of them leaves Evaluate
  // (the problem above fails the gate).
  return {
    ...report,
    attributes: report.attributes.map((a) => (a.groups.length > MAX_GROUPS ? withheld(a) : a)),
  };
}

/** An attribute's comparison without its groups: only its name and how many rows had no value. */
function withheld(a: AttributeFairness): AttributeFairness {
  return {
    attribute: a.attribute,
    groups: [],
    missing: a.missing,
    insufficient: [],
    approvalRatio: null,
    approvalRatioInterval: null,
    lowestApproval: null,
    highestApproval: null,
    equalOpportunityDifference: null,
    equalOpportunityDifferenceInterval: null,
    maxCalibrationGap: null,
  };
}
