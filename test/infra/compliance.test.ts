import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Stage, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { compliancePacks } from '../../lib/compliance/packs';
import { buildPlatform } from '../../lib/platform-app';
import { athenaEnvironments, synthesizePlatform } from '../support/platform';
import cdkJson from '../../cdk.json';

const PACK_RULE = /^(AwsSolutions|NIST\.800\.53\.R5|PCI\.DSS\.321)-/;

/**
 * What the reason of an acknowledgement of each rule must speak of: a reason written for another finding and
 * attached to this one fails. A rule not listed here fails too, so every new acknowledgement is looked at.
 */
const REASON_SUBJECT: Record<string, RegExp> = {
  'AwsSolutions-APIG3': /private api/i,
  'AwsSolutions-COG4': /IAM \(SigV4\) authorization/,
  'AwsSolutions-IAM4': /AWS[- ]maintain/i,
  'AwsSolutions-L1': /nodejs22\.x/,
  'CloudFormation-Validate::F3002': /DestinationOptions/,
  'CloudFormation-Validate::F3003': /DestinationOptions/,
  'CloudFormation-Validate::W3010': /availability zones/i,
  APIGWAssociatedWithWAF: /\bWAF\b/,
  APIGWCacheEnabledAndEncrypted: /cach/i,
  APIGWSSLEnabled: /client certificates/i,
  IAMNoInlinePolicy: /\binline\b/i,
  LambdaDLQ: /\b(a)?synchronously\b/i, // how the function is invoked, and so why no DLQ
  S3BucketReplicationEnabled: /replication/i,
};

/**
 * Why a reason does not fit its finding, or null. An `IAM5[Resource::…*]` reason names the prefix the wildcard
 * is confined to (`landing/loans/`, `champion/`, `model-package/mlp-dev-loans/`), or for a bare `*` the actions it
 * grants; any other names what its rule is about ({@link REASON_SUBJECT}).
 */
function reasonProblem(id: string, reason: string): string | null {
  const wildcard = /^AwsSolutions-IAM5\[Resource::(.*)\]$/.exec(id)?.[1];
  if (wildcard !== undefined) {
    if (wildcard === '*') return /\b[a-z0-9-]+:[A-Z][A-Za-z]+/.test(reason) ? null : 'names no action granted on *';
    // `<Function.Arn>:*`: every version and alias of one function.
    if (/^<[^>]+\.Arn>:\*$/.test(wildcard)) return /version/i.test(reason) ? null : 'does not say which versions';
    const confined = /^(?:arn:[^:]*:[^:]*:[^:]*:[^:]*:|[^/]*\/)(.*)\*$/.exec(wildcard)?.[1] ?? wildcard;
    return reason.includes(confined) ? null : `does not name the prefix ${confined}`;
  }
  const base = id.replace(/\[.*$/, '');
  const rule = Object.keys(REASON_SUBJECT).find((key) => base === key || base.endsWith(`-${key}`));
  if (!rule) return 'no expectation for this rule in REASON_SUBJECT';
  return REASON_SUBJECT[rule].test(reason) ? null : `does not speak of ${REASON_SUBJECT[rule]}`;
}

/** `rule id → construct paths` of every finding the packs report under `scope`. */
function findings(scope: IConstruct): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const pack of compliancePacks()) {
    for (const violation of pack.validateScope(scope).violations) {
      found.set(
        violation.ruleName,
        violation.violatingResources.map((r) => r.constructPath ?? '?'),
      );
    }
  }
  return found;
}

/** Every acknowledgement in the tree: construct path, rule id, reason. */
function acknowledgements(
  scope: IConstruct,
): Array<{ path: string; id: string; reason: string; isStackOrStage: boolean }> {
  const out = [];
  for (const construct of scope.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        const isStackOrStage = Stack.isStack(construct) || Stage.isStage(construct);
        out.push({ path: construct.node.path, id: id.replace(/^annotation::/i, ''), reason, isStackOrStage });
      }
    }
  }
  return out;
}

const platform = synthesizePlatform();
const unacknowledged = synthesizePlatform([], undefined, { acknowledgeFindings: false });
// dev with its training sets selected by Athena: the workgroup, the catalog and their grants.
const athena = synthesizePlatform(['dev'], athenaEnvironments());
const athenaUnacknowledged = synthesizePlatform(['dev'], athenaEnvironments(), { acknowledgeFindings: false });
const variants = {
  dev: [platform, unacknowledged],
  staging: [platform, unacknowledged],
  prod: [platform, unacknowledged],
  'dev (engine athena)': [athena, athenaUnacknowledged],
} as const;

describe.each(Object.keys(variants) as (keyof typeof variants)[])('%s compliance', (variant) => {
  const envName = variant.split(' ')[0];
  const [acknowledged, bare] = variants[variant];
  test('AwsSolutions, NIST 800-53 rev 5 and PCI DSS 3.2.1 report zero unacknowledged findings', () => {
    expect(Object.fromEntries(findings(acknowledged.stages[envName]))).toEqual({});
  });

  test('every acknowledgement sits on one resource, gives a specific reason and covers a real finding', () => {
    const acks = acknowledgements(acknowledged.stages[envName]);
    expect(acks.length).toBeGreaterThan(0);
    const real = findings(bare.stages[envName]);
    for (const ack of acks) {
      expect({ ack: ack.path, stackOrStageLevel: ack.isStackOrStage }).toEqual({
        ack: ack.path,
        stackOrStageLevel: false,
      });
      expect({ ack: `${ack.id} @ ${ack.path}`, problem: reasonProblem(ack.id, ack.reason) }).toEqual({
        ack: `${ack.id} @ ${ack.path}`,
        problem: null,
      });
      if (!PACK_RULE.test(ack.id)) continue;
      const paths = real.get(ack.id) ?? [];
      expect({
        ack: `${ack.id} @ ${ack.path}`,
        covers: paths.some((p) => p === ack.path || p.startsWith(`${ack.path}/`)),
      }).toEqual({
        ack: `${ack.id} @ ${ack.path}`,
        covers: true,
      });
    }
  });
});

test('synth fails when a resource breaks a compliance rule', () => {
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'mlp-cdk-')),
    context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] },
  });
  const [dev] = buildPlatform(app, { environments: ['dev'] });
  new s3.Bucket(dev.data, 'Unprotected');
  const log = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    expect(() => app.synth()).toThrow(
      /ERROR The S3 Bucket has server access logs disabled[\s\S]*dev\/Data\/Unprotected/,
    );
  } finally {
    log.mockRestore();
    warn.mockRestore();
  }
});
