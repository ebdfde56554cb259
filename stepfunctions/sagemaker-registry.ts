/** The registry in AWS: SageMaker Model Package Groups (Register creates packages; decisions update them). */
import type * as SageMakerSdk from '@aws-sdk/client-sagemaker';
import type {
  ApprovalStatus,
  CreateModelPackageRequest,
  ModelCardLocation,
  ModelRegistry,
  ModelVersionRecord,
} from './model-registry';
import { modelCardMetadata, modelVersionOf } from './model-registry';
import { approvalDescription } from '../contracts/registry-fields';

/** SageMaker Model Registry through the AWS SDK. */
export class SageMakerModelRegistry implements ModelRegistry {
  private readonly sdk: Promise<typeof SageMakerSdk & { client: SageMakerSdk.SageMakerClient }>;

  /** @param region AWS region (default: the SDK's default chain, which Lambda sets). */
  constructor(region?: string) {
    this.sdk = import('@aws-sdk/client-sagemaker').then((m) => ({ ...m, client: new m.SageMakerClient({ region }) }));
  }

  async register(request: CreateModelPackageRequest): Promise<string> {
    const sdk = await this.sdk;
    const response = await sdk.client.send(
      new sdk.CreateModelPackageCommand({
        ...request,
        InferenceSpecification: {
          Containers: request.InferenceSpecification.Containers.map((c) => ({ ...c })),
          SupportedContentTypes: ['text/csv'],
          SupportedResponseMIMETypes: ['text/csv'],
        },
      }),
    );
    return response.ModelPackageArn!;
  }

  async decide(modelPackageArn: string, status: ApprovalStatus, reasons: string[], approver?: string): Promise<void> {
    const sdk = await this.sdk;
    await sdk.client.send(
      new sdk.UpdateModelPackageCommand({
        ModelPackageArn: modelPackageArn,
        ModelApprovalStatus: status,
        ApprovalDescription: approvalDescription(reasons),
        ...(approver ? { CustomerMetadataProperties: { approver } } : {}),
      }),
    );
  }

  /** DescribeModelPackage of one version. */
  async get(modelPackageArn: string): Promise<ModelVersionRecord> {
    const sdk = await this.sdk;
    const d = await sdk.client.send(new sdk.DescribeModelPackageCommand({ ModelPackageName: modelPackageArn }));
    const container = d.InferenceSpecification?.Containers?.[0];
    return {
      modelVersion: modelVersionOf(d.ModelPackageArn!),
      modelPackageArn: d.ModelPackageArn!,
      group: d.ModelPackageGroupName!,
      createdAt: d.CreationTime?.toISOString() ?? '',
      status: (d.ModelApprovalStatus ?? 'PendingManualApproval') as ApprovalStatus,
      statusReasons: d.ApprovalDescription ? [d.ApprovalDescription] : [],
      approver: d.CustomerMetadataProperties?.approver,
      modelDataUrl: container?.ModelDataUrl ?? '',
      image: container?.Image ?? '',
      metadata: d.CustomerMetadataProperties ?? {},
    };
  }

  /** UpdateModelPackage with the card's location in CustomerMetadataProperties (not SageMaker's ModelCard API). */
  async recordCard(modelPackageArn: string, card: ModelCardLocation): Promise<void> {
    const sdk = await this.sdk;
    await sdk.client.send(
      new sdk.UpdateModelPackageCommand({
        ModelPackageArn: modelPackageArn,
        CustomerMetadataProperties: modelCardMetadata(card),
      }),
    );
  }

  async list(groupName?: string): Promise<ModelVersionRecord[]> {
    const sdk = await this.sdk;
    const records: ModelVersionRecord[] = [];
    let token: string | undefined;
    do {
      const page = await sdk.client.send(
        new sdk.ListModelPackagesCommand({ ModelPackageGroupName: groupName, NextToken: token }),
      );
      for (const summary of page.ModelPackageSummaryList ?? []) records.push(await this.get(summary.ModelPackageArn!));
      token = page.NextToken;
    } while (token);
    const number = (r: ModelVersionRecord) => Number(r.modelVersion.split('/').pop());
    return records.sort((a, b) => number(a) - number(b));
  }
}
