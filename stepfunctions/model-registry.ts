/**
 * The model registry: every candidate is registered (Register: SageMaker `CreateModelPackage` in AWS), then
 * marked Approved or Rejected with the gate's reasons (and the approver, in prod). Locally the registry is one
 * JSON file with the same fields, so `mlp models` and `mlp lineage` read either.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

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

/** The local registry file (written atomically). */
export class LocalModelRegistry implements ModelRegistry {
  constructor(
    readonly path: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private load(): ModelVersionRecord[] {
    try {
      return (JSON.parse(readFileSync(this.path, 'utf8')) as { versions: ModelVersionRecord[] }).versions;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new Error(`the model registry ${this.path} is unreadable: ${(error as Error).message}`, { cause: error });
    }
  }

  private save(versions: ModelVersionRecord[]): void {
    mkdirSync(dirname(this.path), { recursive: true });
    writeFileSync(`${this.path}.tmp`, `${JSON.stringify({ format: 'mlp.model-registry/1', versions }, null, 2)}\n`);
    renameSync(`${this.path}.tmp`, this.path);
  }

  async register(request: CreateModelPackageRequest): Promise<string> {
    const versions = this.load();
    const group = request.ModelPackageGroupName;
    const n = versions.filter((v) => v.group === group).length + 1;
    const modelPackageArn = `arn:aws:sagemaker:local:000000000000:model-package/${group}/${n}`;
    const container = request.InferenceSpecification.Containers[0];
    versions.push({
      modelVersion: `${group}/${n}`,
      modelPackageArn,
      group,
      createdAt: this.now().toISOString(),
      status: request.ModelApprovalStatus ?? 'PendingManualApproval',
      modelDataUrl: container.ModelDataUrl,
      image: container.Image,
      metadata: { ...request.CustomerMetadataProperties },
    });
    this.save(versions);
    return modelPackageArn;
  }

  async decide(modelPackageArn: string, status: ApprovalStatus, reasons: string[], approver?: string): Promise<void> {
    const versions = this.load();
    const record = versions.find((v) => v.modelPackageArn === modelPackageArn);
    if (!record) throw new Error(`no registered model ${modelPackageArn}`);
    record.status = status;
    record.statusReasons = reasons;
    if (approver) record.approver = approver;
    if (status === 'Approved') record.deployedAt = this.now().toISOString();
    this.save(versions);
  }

  async list(): Promise<ModelVersionRecord[]> {
    return this.load();
  }
}
