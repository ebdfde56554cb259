/**
 * Object access of the retraining pipeline's principals, granted one prefix at a time: a grant on a prefix
 * also grants the key that encrypts the bucket (kms:Decrypt to read, kms:GenerateDataKey to write) and records,
 * on the policy it lands in, the acknowledgement of its wildcard with the prefix and the actions it allows.
 */
import { Fn, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { acknowledgeGrants, wildcardFinding } from '../compliance/acknowledge';

/** The platform buckets the pipeline (and the monitoring jobs) read and write. */
export type PipelineBucket = 'landing' | 'curated' | 'models' | 'capture' | 'audit';

/** How the pipeline reaches a bucket: its ARN's export name and the key of its objects. */
export interface BucketAccess {
  /** Export name of the bucket's ARN: statements import it by name, which keeps them readable in reviews. */
  readonly arnExport: string;
  readonly key: kms.IKey;
  /**
   * The key also protects other data (the audit key: CloudTrail, log groups): its grants go in statements of
   * their own, usable only through S3 for this bucket's objects (kms:ViaService, and the bucket as encryption
   * context: its S3 Bucket Key).
   */
  readonly keyOnlyViaBucket?: boolean;
}

/** Every object under a key prefix of a bucket. */
export interface ObjectPrefix {
  readonly bucket: PipelineBucket;
  /** A key prefix such as `landing/loans/`. */
  readonly prefix: string;
}

/** One grant on object prefixes. */
export interface ObjectGrant {
  /** The statement's id: what the grant is for (`ReadExtracts`). */
  readonly sid: string;
  readonly objects: readonly ObjectPrefix[];
  /** Why the objects cannot be named at synth time: the end of the wildcard's acknowledgement. */
  readonly why: string;
}

const KEY_ACTIONS = { read: 'kms:Decrypt', write: 'kms:GenerateDataKey' } as const;
const OBJECT_ACTIONS = { read: 's3:GetObject', write: 's3:PutObject' } as const;
const KEY_SIDS = { read: 'DecryptObjects', write: 'EncryptObjects' } as const;

/** Grants object access on the pipeline's buckets, with the keys and acknowledgements that go with it. */
export class ObjectAccess {
  /** The key statement of each principal and direction, extended as grants on other keys come. */
  private readonly keyStatements = new Map<
    iam.IPrincipal,
    Partial<Record<'read' | 'write', { statement: iam.PolicyStatement; keys: Set<kms.IKey> }>>
  >();

  /** Scoped key statements already added, by principal. */
  private readonly scopedKeyGrants = new Map<iam.IPrincipal, Set<string>>();

  constructor(private readonly access: Readonly<Partial<Record<PipelineBucket, BucketAccess>>>) {}

  /** How a bucket is reached; a bucket the principal's stack was not given is a wiring error, named. */
  private bucket(name: PipelineBucket): BucketAccess {
    const access = this.access[name];
    if (!access) throw new Error(`ObjectAccess was not given the ${name} bucket`);
    return access;
  }

  /** Lets `principal` read the objects under `grant.prefixes` (s3:GetObject, kms:Decrypt of the bucket's key). */
  read(principal: iam.IGrantable, grant: ObjectGrant): void {
    this.grant(principal, grant, 'read');
  }

  /** Lets `principal` write objects under `grant.prefixes` (s3:PutObject, kms:GenerateDataKey). */
  write(principal: iam.IGrantable, grant: ObjectGrant): void {
    this.grant(principal, grant, 'write');
  }

  /**
   * Lets `principal` list `bucket` where the listing's prefix matches `prefix` (a key or a `…*` pattern). Without
   * s3:ListBucket S3 answers a missing key with 403 rather than 404.
   */
  list(principal: iam.IGrantable, bucket: PipelineBucket, prefix: string, sid = 'ListDatasetObjects'): void {
    principal.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid,
        actions: ['s3:ListBucket'],
        resources: [Fn.importValue(this.bucket(bucket).arnExport)],
        conditions: { StringLike: { 's3:prefix': [prefix] } },
      }),
    );
  }

  /**
   * Lets `principal` create objects under `grant.objects` and never replace one: s3:PutObject only with
   * `If-None-Match` set (a write that could overwrite is denied), kms:GenerateDataKey of the bucket's key.
   */
  createOnly(principal: iam.IGrantable, grant: ObjectGrant): void {
    const wildcards = this.wildcards(grant);
    principal.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: grant.sid,
        actions: ['s3:PutObject'],
        resources: wildcards.map((w) => w.resource),
        conditions: { Null: { 's3:if-none-match': 'false' } },
      }),
    );
    for (const { bucket } of grant.objects) this.grantBucketKey(principal, bucket, 'write');
    acknowledgeGrants(
      principal,
      wildcards.map((w) => w.finding),
      `s3:PutObject (${grant.sid}) only with If-None-Match, only under ${wildcards.map((w) => w.scope).join(' and ')}: ` +
        grant.why,
    );
  }

  /** Lets `principal` delete one object, named whole (s3:DeleteObject; no key is needed to delete). */
  delete(principal: iam.IGrantable, grant: { sid: string; bucket: PipelineBucket; key: string }): void {
    principal.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: grant.sid,
        actions: ['s3:DeleteObject'],
        resources: [`${Fn.importValue(this.bucket(grant.bucket).arnExport)}/${grant.key}`],
      }),
    );
  }

  private grant(principal: iam.IGrantable, grant: ObjectGrant, direction: 'read' | 'write'): void {
    const wildcards = this.wildcards(grant);
    principal.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: grant.sid,
        actions: [OBJECT_ACTIONS[direction]],
        resources: wildcards.map((w) => w.resource),
      }),
    );
    for (const { bucket } of grant.objects) this.grantBucketKey(principal, bucket, direction);
    acknowledgeGrants(
      principal,
      wildcards.map((w) => w.finding),
      `${OBJECT_ACTIONS[direction]} (${grant.sid}) only under ${wildcards.map((w) => w.scope).join(' and ')}: ` +
        grant.why,
    );
  }

  /** Each object prefix of a grant: its resource pattern, the finding it raises and how it reads in a review. */
  private wildcards(grant: ObjectGrant) {
    return grant.objects.map(({ bucket, prefix }) => ({
      resource: `${Fn.importValue(this.bucket(bucket).arnExport)}/${prefix}*`,
      finding: wildcardFinding(`${this.bucket(bucket).arnExport}/${prefix}*`),
      scope: `${prefix} of the ${bucket} bucket`,
    }));
  }

  /** The key grant that goes with object access on `bucket`: the shared statement, or a scoped one of its own. */
  private grantBucketKey(principal: iam.IGrantable, bucket: PipelineBucket, direction: 'read' | 'write'): void {
    const access = this.bucket(bucket);
    if (!access.keyOnlyViaBucket) {
      this.grantKey(principal, access.key, direction);
      return;
    }
    const sid = `${KEY_SIDS[direction]}Of${bucket[0].toUpperCase()}${bucket.slice(1)}`;
    const done = this.scopedKeyGrants.get(principal.grantPrincipal) ?? new Set<string>();
    this.scopedKeyGrants.set(principal.grantPrincipal, done);
    if (done.has(sid)) return;
    done.add(sid);
    principal.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid,
        actions: [KEY_ACTIONS[direction]],
        resources: [access.key.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': `s3.${Stack.of(access.key).region}.amazonaws.com`,
            'kms:EncryptionContext:aws:s3:arn': Fn.importValue(access.arnExport),
          },
        },
      }),
    );
  }

  /** Adds `key` to the principal's one statement for `direction`, creating it on the first grant. */
  private grantKey(principal: iam.IGrantable, key: kms.IKey, direction: 'read' | 'write'): void {
    const byDirection = this.keyStatements.get(principal.grantPrincipal) ?? {};
    this.keyStatements.set(principal.grantPrincipal, byDirection);
    const existing = byDirection[direction];
    if (existing) {
      if (!existing.keys.has(key)) existing.statement.addResources(key.keyArn);
      existing.keys.add(key);
      return;
    }
    const statement = new iam.PolicyStatement({
      sid: KEY_SIDS[direction],
      actions: [KEY_ACTIONS[direction]],
      resources: [key.keyArn],
    });
    principal.grantPrincipal.addToPrincipalPolicy(statement);
    byDirection[direction] = { statement, keys: new Set([key]) };
  }
}
