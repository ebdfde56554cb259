/**
 * The model registry: every candidate is registered (Register: SageMaker `CreateModelPackage` in AWS), then
 * marked Approved or Rejected with the gate's reasons (and the approver, in prod). Locally the registry is one
 * JSON file with the same fields (local/local-model-registry.ts), so `mlp models` and `mlp lineage` read either.
 */

/** Approval states, as SageMaker names them. */
export type ApprovalStatus = 'PendingManualApproval' | 'Approved' | 'Rejected';

/** One registered model version and everything it is traced to. */
export interface ModelVersionRecord {
  /** `<group>/<n>`: what every prediction carries. */
  readonly modelVersion: string;
  readonly modelPackageArn: string;
  readonly group: string;
  readonly createdAt: string;
  status: ApprovalStatus;
  statusReasons?: string[];
  approver?: string;
  deployedAt?: string;
  /** CreateModelPackage's fields as registered. */
  readonly modelDataUrl: string;
  readonly image: string;
  /** Lineage: training job, dataset version, extract, metrics (CustomerMetadataProperties). */
  readonly metadata: Readonly<Record<string, string>>;
}

/** Reads and updates registered versions. */
export interface ModelRegistry {
  /** Registers a version from a CreateModelPackage request; returns its ARN. */
  register(request: CreateModelPackageRequest): Promise<string>;
  /** Records a decision on a version. */
  decide(modelPackageArn: string, status: ApprovalStatus, reasons: string[], approver?: string): Promise<void>;
  list(): Promise<ModelVersionRecord[]>;
  /** One registered version; throws naming it when there is none. */
  get(modelPackageArn: string): Promise<ModelVersionRecord>;
  /** Records where a version's model card is (metadata {@link MODEL_CARD_FIELDS}), replacing an earlier one. */
  recordCard(modelPackageArn: string, card: ModelCardLocation): Promise<void>;
}

/** Where a version's model card is stored, the SHA-256 of its JSON, and the trail entry it was written after. */
export interface ModelCardLocation {
  readonly jsonUri: string;
  readonly htmlUri: string;
  readonly sha256: string;
  /**
   * The version's last approval-trail entry when the card was written, `<sequence>:<sha256>`
   * (stepfunctions/governance/trail-anchor.ts); absent without a trail or an entry.
   */
  readonly trailAnchor?: string;
}

/** The metadata keys (CustomerMetadataProperties in SageMaker) a model card is recorded under. */
export const MODEL_CARD_FIELDS = {
  jsonUri: 'modelCardUri',
  htmlUri: 'modelCardHtmlUri',
  sha256: 'modelCardSha256',
  trailAnchor: 'approvalTrailAnchor',
} as const;

/** A card's location as registry metadata. */
export function modelCardMetadata(card: ModelCardLocation): Record<string, string> {
  return {
    [MODEL_CARD_FIELDS.jsonUri]: card.jsonUri,
    [MODEL_CARD_FIELDS.htmlUri]: card.htmlUri,
    [MODEL_CARD_FIELDS.sha256]: card.sha256,
    ...(card.trailAnchor ? { [MODEL_CARD_FIELDS.trailAnchor]: card.trailAnchor } : {}),
  };
}

/** The parts of SageMaker's CreateModelPackage request the platform sends. */
export interface CreateModelPackageRequest {
  readonly ModelPackageGroupName: string;
  readonly ModelApprovalStatus?: ApprovalStatus;
  readonly InferenceSpecification: { readonly Containers: readonly { Image: string; ModelDataUrl: string }[] };
  readonly CustomerMetadataProperties?: Readonly<Record<string, string>>;
}

/** The model version of a model package ARN (`…:model-package/<group>/<n>` → `<group>/<n>`). */
export function modelVersionOf(modelPackageArn: string): string {
  const match = /:model-package\/(.+\/\d+)$/.exec(modelPackageArn);
  if (!match) throw new Error(`not a versioned model package ARN: ${modelPackageArn.slice(0, 200)}`);
  return match[1];
}
