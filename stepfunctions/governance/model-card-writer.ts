/**
 * Writes a version's model card where the platform keeps it: `card.json` and `card.html` under the models
 * bucket's `<dataset>/cards/` (contracts/s3-layout.ts `models.cardKeys`), then records their URIs and the JSON's
 * SHA-256 in the registry (metadata `modelCardUri`, `modelCardHtmlUri`, `modelCardSha256`). The card is built
 * from the registry record, the evaluation and drift baseline Evaluate wrote, the feature spec and training set
 * Prepare wrote, and the approval trail's entries of the version, as they are when it runs; a part that cannot
 * be read is named in the card's `missing`, while a card that cannot be stored or recorded fails. The registry
 * also records the version's last trail entry as an anchor of the trail (./trail-anchor.ts); a trail that no
 * longer holds the anchor recorded before is refused.
 */
import { createHash } from 'node:crypto';
import { models, s3Uri } from '../../contracts/s3-layout';
import { type FeatureSpec, parseFeatureSpec } from '../../lambdas/features/feature-spec';
import { type DriftBaseline, readDriftBaseline } from '../../lambdas/monitoring/drift-baseline';
import type { ArtifactStore } from '../artifact-store';
import type { TrainingSetLineage } from '../curated/training-set';
import type { ModelCardLocation, ModelRegistry } from '../model-registry';
import { sdkErrorSummary } from '../sdk-error';
import type { ApprovalTrail, TrailEntry } from './approval-trail';
import { buildModelCard, type EvaluationDocument, type ModelCard } from './model-card';
import { renderModelCard } from './model-card-html';
import { anchorText, parseAnchor, TRAIL_ANCHOR_FIELD } from './trail-anchor';

/** What the card needs of the environment's settings. */
export interface ModelCardSettings {
  readonly envName: string;
  readonly dataset: string;
  readonly label: string;
  readonly intendedUse?: string;
  readonly buckets: { readonly models: string };
}

/** Dependencies of {@link writeModelCard}. */
export interface ModelCardDependencies {
  readonly store: ArtifactStore;
  readonly registry: Pick<ModelRegistry, 'get' | 'recordCard'>;
  /** The environment's approval trail (absent: the card says no decision was recorded). */
  readonly trail?: Pick<ApprovalTrail, 'ofVersion'>;
  readonly settings: ModelCardSettings;
  readonly now?: () => Date;
}

/** A written card: its content, HTML and where both are. */
export interface WrittenModelCard extends ModelCardLocation {
  readonly card: ModelCard;
  readonly json: string;
  readonly html: string;
}

function why(error: unknown): string {
  return sdkErrorSummary(error) ?? (error as Error)?.message ?? String(error);
}

/** The card's JSON and HTML for a version as the registry, its documents and the trail hold it now. */
export async function composeModelCard(
  deps: ModelCardDependencies,
  modelPackageArn: string,
): Promise<Omit<WrittenModelCard, keyof ModelCardLocation> & Pick<ModelCardLocation, 'sha256' | 'trailAnchor'>> {
  const { store, settings } = deps;
  const record = await deps.registry.get(modelPackageArn);
  const missing: string[] = [];
  const read = async <T>(what: string, uri: string | undefined, parse: (bytes: Uint8Array) => T): Promise<T | null> => {
    if (!uri) {
      missing.push(`${what}: the registry records no URI`);
      return null;
    }
    try {
      return parse(await store.get(uri));
    } catch (error) {
      missing.push(`${what} (${uri}): ${why(error)}`);
      return null;
    }
  };
  const json = (bytes: Uint8Array) => JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  const m = record.metadata;
  const evaluation = await read('evaluation', m.evaluationUri, (b) => json(b) as EvaluationDocument);
  const baselineUri =
    evaluation?.baselineUri ??
    (m.trainingJobName
      ? s3Uri(settings.buckets.models, models.baselineKey(settings.dataset, m.trainingJobName))
      : undefined);
  const baseline = await read<DriftBaseline>('drift baseline', baselineUri, (b) => readDriftBaseline(b, baselineUri));
  let featureSpecSha256: string | undefined;
  const featureSpec = await read<FeatureSpec>('feature spec', m.featureSpecUri, (b) => {
    featureSpecSha256 = createHash('sha256').update(b).digest('hex');
    return parseFeatureSpec(json(b));
  });
  const trainingSet = await read('training set lineage', m.trainingSetUri, (b) => json(b) as TrainingSetLineage);
  let trail: TrailEntry[] = [];
  let unread: string | undefined;
  if (deps.trail) {
    // A trail that does not verify is no source of decisions: the card says so rather than showing them.
    try {
      trail = await deps.trail.ofVersion(record.modelVersion);
    } catch (error) {
      unread = why(error);
      missing.push(`approval trail: ${unread}`);
    }
  } else {
    missing.push('approval trail: this environment records none');
  }
  // A card is never re-anchored onto a trail that lost the entry the registry anchored: cut off or rewritten.
  const recorded = m[TRAIL_ANCHOR_FIELD];
  const anchored = recorded === undefined ? undefined : parseAnchor(recorded);
  if (recorded !== undefined && unread !== undefined) {
    throw new Error(
      `the approval trail cannot be read to check the registry's anchor of ${record.modelVersion}: ${unread}`,
    );
  }
  if (recorded !== undefined && deps.trail) {
    const held = anchored && trail.some((e) => e.sequence === anchored.sequence && e.hash === anchored.hash);
    if (!held) {
      throw new Error(
        `the approval trail no longer holds entry ${anchored?.sequence ?? recorded.slice(0, 20)} that the registry ` +
          `anchored for ${record.modelVersion}: run mlp audit`,
      );
    }
  }
  const last = trail.at(-1);
  const card = buildModelCard({
    environment: settings.envName,
    dataset: settings.dataset,
    label: settings.label,
    intendedUse: settings.intendedUse,
    record,
    evaluation,
    featureSpec,
    featureSpecSha256,
    baseline,
    trainingSet,
    trail,
    missing,
    generatedAt: (deps.now ?? (() => new Date()))(),
  });
  const text = `${JSON.stringify(card, null, 2)}\n`;
  return {
    card,
    json: text,
    html: renderModelCard(card),
    sha256: createHash('sha256').update(text).digest('hex'),
    ...(last ? { trailAnchor: anchorText(last) } : {}),
  };
}

/**
 * Builds a version's card, stores `card.json` and `card.html` and records them in the registry. Throws when the
 * card cannot be stored or recorded (the error names the version and what refused).
 */
export async function writeModelCard(deps: ModelCardDependencies, modelPackageArn: string): Promise<WrittenModelCard> {
  const composed = await composeModelCard(deps, modelPackageArn);
  const keys = models.cardKeys(deps.settings.dataset, composed.card.model.version);
  const jsonUri = s3Uri(deps.settings.buckets.models, keys.json);
  const htmlUri = s3Uri(deps.settings.buckets.models, keys.html);
  try {
    await deps.store.put(jsonUri, composed.json);
    await deps.store.put(htmlUri, composed.html);
    await deps.registry.recordCard(modelPackageArn, {
      jsonUri,
      htmlUri,
      sha256: composed.sha256,
      ...(composed.trailAnchor ? { trailAnchor: composed.trailAnchor } : {}),
    });
  } catch (error) {
    throw new Error(
      `the model card of ${composed.card.model.version} could not be stored at ${jsonUri}: ${why(error)}`,
      {
        cause: error,
      },
    );
  }
  return { ...composed, jsonUri, htmlUri };
}
