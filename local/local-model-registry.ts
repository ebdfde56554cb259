/**
 * The local twin of the SageMaker Model Registry: one JSON file per environment (`$MLP_HOME/registry/<env>.json`)
 * with the fields of a model package, numbered per group as SageMaker numbers versions.
 */
import { approvalDescription, approvalDescriptionProblem, approverProblem } from '../contracts/registry-fields';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  type ApprovalStatus,
  type CreateModelPackageRequest,
  type ModelCardLocation,
  modelCardMetadata,
  type ModelRegistry,
  type ModelVersionRecord,
} from '../stepfunctions/model-registry';

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
    // What SageMaker's UpdateModelPackage refuses, refused here too.
    const problem =
      (approver === undefined ? null : approverProblem(approver)) ??
      approvalDescriptionProblem(approvalDescription(reasons));
    if (problem) throw new Error(`${modelPackageArn}: ${problem}`);
    record.status = status;
    record.statusReasons = reasons;
    if (approver) record.approver = approver;
    if (status === 'Approved') record.deployedAt = this.now().toISOString();
    this.save(versions);
  }

  async list(): Promise<ModelVersionRecord[]> {
    return this.load();
  }

  async get(modelPackageArn: string): Promise<ModelVersionRecord> {
    const record = this.load().find((v) => v.modelPackageArn === modelPackageArn);
    if (!record) throw new Error(`no registered model ${modelPackageArn}`);
    return record;
  }

  async recordCard(modelPackageArn: string, card: ModelCardLocation): Promise<void> {
    const versions = this.load();
    const i = versions.findIndex((v) => v.modelPackageArn === modelPackageArn);
    if (i < 0) throw new Error(`no registered model ${modelPackageArn}`);
    const fields = modelCardMetadata(card);
    const problem = Object.values(fields).map(approverProblem).find(Boolean);
    if (problem) throw new Error(`${modelPackageArn}: a model card location SageMaker would refuse: ${problem}`);
    versions[i] = { ...versions[i], metadata: { ...versions[i].metadata, ...fields } };
    this.save(versions);
  }
}
