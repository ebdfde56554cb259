import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Stage, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { compliancePacks } from '../../lib/compliance/packs';
import { buildPlatform } from '../../lib/platform-app';
import { synthesizePlatform } from '../support/platform';
import cdkJson from '../../cdk.json';

const PACK_RULE = /^(AwsSolutions|NIST\.800\.53\.R5|PCI\.DSS\.321)-/;

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

describe.each(['dev', 'staging', 'prod'])('%s compliance', (envName) => {
  test('AwsSolutions, NIST 800-53 rev 5 and PCI DSS 3.2.1 report zero unacknowledged findings', () => {
    expect(Object.fromEntries(findings(platform.stages[envName]))).toEqual({});
  });

  test('every acknowledgement sits on one resource, gives a specific reason and covers a real finding', () => {
    const acks = acknowledgements(platform.stages[envName]);
    expect(acks.length).toBeGreaterThan(0);
    const real = findings(unacknowledged.stages[envName]);
    for (const ack of acks) {
      expect({ ack: ack.path, stackOrStageLevel: ack.isStackOrStage }).toEqual({
        ack: ack.path,
        stackOrStageLevel: false,
      });
      expect(ack.reason.length).toBeGreaterThanOrEqual(60);
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
