/**
 * The approval trail: entries numbered and chained by hash, each written once (S3's conditional create through
 * the real SDK against the stand-in; an exclusive link locally); a changed, removed, reordered or forged entry
 * is named by `verifyTrail`, and nothing is appended to a trail that does not verify; concurrent writers each
 * get their own entry; a retried step records its decision once.
 */
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalArtifactStore } from '../../local/local-artifact-store';
import { S3ArtifactStore } from '../../stepfunctions/artifact-store';
import {
  ApprovalTrail,
  entryHash,
  TRAIL_FORMAT,
  type TrailRecord,
  TrailTampered,
  verifyTrail,
} from '../../stepfunctions/governance/approval-trail';
import {
  anchorProblems,
  anchorText,
  parseAnchor,
  TRAIL_ANCHOR_FIELD,
} from '../../stepfunctions/governance/trail-anchor';
import { standInClientConfig, startS3StandIn } from '../support/s3-stand-in';

const record = (modelVersion: string, event: TrailRecord['event'], id = 'mlp-prod-retraining'): TrailRecord => ({
  environment: 'prod',
  modelVersion,
  event,
  principal: { kind: 'state-machine', id },
  reason: `${event} for the test`,
});

function localTrail() {
  const root = mkdtempSync(join(tmpdir(), 'mlp-trail-'));
  const prefix = 's3://mlp-local-prod-audit/approvals/prod/';
  const store = new LocalArtifactStore(root);
  const trail = new ApprovalTrail(store, prefix);
  const file = (n: number) =>
    join(root, 'mlp-local-prod-audit', 'approvals', 'prod', `${String(n).padStart(10, '0')}.json`);
  return { trail, file, store };
}

async function threeEntries() {
  const local = localTrail();
  await local.trail.append(record('mlp-prod-loans/1', 'gate-passed'));
  await local.trail.append(record('mlp-prod-loans/1', 'approval-requested'));
  await local.trail.append({ ...record('mlp-prod-loans/1', 'approved'), principal: { kind: 'os-user', id: 'jane' } });
  return local;
}

test('entries are numbered, chained by hash and verify; each file is read-only', async () => {
  const { trail, file } = await threeEntries();
  const entries = await trail.entries();
  expect(entries.map((e) => [e.sequence, e.event])).toEqual([
    [1, 'gate-passed'],
    [2, 'approval-requested'],
    [3, 'approved'],
  ]);
  expect(entries[0].previous).toBeNull();
  expect(entries[1].previous).toBe(entries[0].hash);
  expect(entries[2].previous).toBe(entries[1].hash);
  for (const e of entries) expect(e.hash).toBe(entryHash(e));
  expect(entries[0]).toMatchObject({ format: TRAIL_FORMAT, environment: 'prod', modelVersion: 'mlp-prod-loans/1' });
  expect(verifyTrail(entries)).toEqual([]);
  expect(statSync(file(1)).mode & 0o222).toBe(0); // no write bit for anyone
});

describe('a trail rewritten after the fact is named, and nothing is appended to it', () => {
  const rewrite = (path: string, edit: (text: string) => string) => {
    chmodSync(path, 0o644);
    writeFileSync(path, edit(readFileSync(path, 'utf8')));
  };

  test('an entry whose content changed', async () => {
    const { trail, file } = await threeEntries();
    rewrite(file(3), (t) => t.replace('"id": "jane"', '"id": "mallory"'));
    expect(verifyTrail(await trail.read())).toEqual(['entry 3 was changed after it was written']);
    await expect(trail.entries()).rejects.toThrow(TrailTampered);
    await expect(trail.append(record('mlp-prod-loans/1', 'deployed'))).rejects.toThrow(
      'the approval trail does not verify: entry 3 was changed after it was written',
    );
  });

  test('an entry changed and its hash recomputed: the next entry no longer links to it', async () => {
    const { trail, file } = await threeEntries();
    rewrite(file(2), (text) => {
      const entry = JSON.parse(text);
      entry.reason = 'nobody asked';
      entry.hash = entryHash(entry);
      return JSON.stringify(entry);
    });
    expect(verifyTrail(await trail.read())).toEqual(['entry 3 does not link to the entry before it']);
  });

  test('an entry removed, or two swapped', async () => {
    const removed = await threeEntries();
    rmSync(removed.file(2), { force: true });
    expect(verifyTrail(await removed.trail.read())).toEqual([
      'entry 2 carries sequence 3: an entry is missing or moved',
      'entry 2 does not link to the entry before it',
    ]);
    const swapped = await threeEntries();
    renameSync(swapped.file(2), `${swapped.file(2)}.x`);
    renameSync(swapped.file(3), swapped.file(2));
    renameSync(`${swapped.file(2)}.x`, swapped.file(3));
    expect(verifyTrail(await swapped.trail.read())).toEqual([
      'entry 2 carries sequence 3: an entry is missing or moved',
      'entry 2 does not link to the entry before it',
      'entry 3 carries sequence 2: an entry is missing or moved',
      'entry 3 does not link to the entry before it',
    ]);
  });

  test('a forged entry, or something that is not an entry', async () => {
    const { trail, file } = await threeEntries();
    const forged = { ...(await trail.entries())[2], sequence: 4, event: 'deployed' as const, previous: 'f'.repeat(64) };
    writeFileSync(file(4), JSON.stringify({ ...forged, hash: entryHash(forged) }));
    writeFileSync(file(5), 'not json');
    expect(verifyTrail(await trail.read())).toEqual([
      'entry 4 does not link to the entry before it',
      'entry 5 is not a trail entry (mlp.approval-trail/1)',
    ]);
  });
});

test('an entry that cannot be read is named as unreadable, not as tampering', async () => {
  const { store: local } = await threeEntries();
  const store = {
    list: (prefix: string) => local.list(prefix),
    get: () =>
      Promise.reject(Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } })),
    create: () => Promise.resolve(false),
  };
  const denied = new ApprovalTrail(store, 's3://mlp-local-prod-audit/approvals/prod/');
  await expect(denied.read()).rejects.toThrow(
    'the approval trail entry s3://mlp-local-prod-audit/approvals/prod/0000000001.json cannot be read: AccessDenied (HTTP 403)',
  );
});

test('writers racing each get their own entry; a retried step records once', async () => {
  const { trail } = localTrail();
  await Promise.all(
    Array.from({ length: 6 }, (_, i) => trail.append(record(`mlp-prod-loans/${i + 1}`, 'gate-passed'))),
  );
  const entries = await trail.entries();
  expect(entries.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(new Set(entries.map((e) => e.modelVersion)).size).toBe(6);
  const again = await trail.append(record('mlp-prod-loans/3', 'gate-passed'), { once: true });
  expect(again.sequence).toBe(entries.find((e) => e.modelVersion === 'mlp-prod-loans/3')!.sequence);
  expect(await trail.entries()).toHaveLength(6);
  expect((await trail.ofVersion('mlp-prod-loans/3')).map((e) => e.event)).toEqual(['gate-passed']);
});

test('in S3 an entry is created only if absent (If-None-Match), so a second writer of a number loses', async () => {
  const standIn = await startS3StandIn();
  try {
    const store = new S3ArtifactStore(standInClientConfig(standIn.endpoint));
    expect(await store.create('s3://mlp-prod-audit/approvals/prod/0000000001.json', 'first')).toBe(true);
    expect(await store.create('s3://mlp-prod-audit/approvals/prod/0000000001.json', 'second')).toBe(false);
    expect(Buffer.from(await store.get('s3://mlp-prod-audit/approvals/prod/0000000001.json')).toString()).toBe('first');
    const trail = new ApprovalTrail(store, 's3://mlp-prod-audit/approvals/prod/other/');
    await trail.append(record('mlp-prod-loans/1', 'gate-passed'));
    await trail.append(record('mlp-prod-loans/1', 'deployed'));
    expect(verifyTrail(await trail.read())).toEqual([]);
    const puts = standIn.requests.filter((r) => r.method === 'PUT');
    expect(puts.every((r) => r.headers['if-none-match'] === '*')).toBe(true);
  } finally {
    await standIn.close();
  }
});

describe("the registry's anchors catch what the chain alone cannot: a tail cut off, a suffix re-chained", () => {
  const anchored = (modelVersion: string, entry: { sequence: number; hash: string }) => ({
    modelVersion,
    metadata: { [TRAIL_ANCHOR_FIELD]: anchorText(entry) },
  });

  test('anchors the trail still holds pass; a version without an anchor is not checked', async () => {
    const { trail } = await threeEntries();
    const entries = await trail.entries();
    expect(
      anchorProblems(entries, [anchored('mlp-prod-loans/1', entries[2]), { modelVersion: 'x/2', metadata: {} }]),
    ).toEqual({ problems: [], checked: 1 });
  });

  test('a tail cut off below an anchor verifies as a chain, and not against the registry', async () => {
    const { trail, file } = await threeEntries();
    const entries = await trail.entries();
    rmSync(file(3));
    const cut = await trail.read();
    expect(verifyTrail(cut)).toEqual([]);
    expect(anchorProblems(cut, [anchored('mlp-prod-loans/1', entries[2])]).problems).toEqual([
      'the registry anchors mlp-prod-loans/1 at entry 3, but the trail ends at entry 2: entries were cut off its end',
    ]);
  });

  test('a suffix rewritten and re-chained by someone who may write there is named at the anchor', async () => {
    const { trail, file } = await threeEntries();
    const entries = await trail.entries();
    // Entry 3 rewritten with a valid hash and link: the chain holds, the anchor does not.
    const forged = { ...entries[2], principal: { kind: 'os-user' as const, id: 'mallory' } };
    chmodSync(file(3), 0o644);
    writeFileSync(file(3), JSON.stringify({ ...forged, hash: entryHash(forged) }));
    const rewritten = await trail.read();
    expect(verifyTrail(rewritten)).toEqual([]);
    expect(anchorProblems(rewritten, [anchored('mlp-prod-loans/1', entries[2])]).problems).toEqual([
      `the registry anchors mlp-prod-loans/1 at entry 3, but entry 3 is not the one anchored (hash ` +
        `${entries[2].hash.slice(0, 12)}): the trail was rewritten up to it`,
    ]);
  });

  test('an anchored entry removed from the middle is named as gone (the chain names the gap too)', async () => {
    const { trail, file } = await threeEntries();
    const entries = await trail.entries();
    rmSync(file(2));
    const gapped = await trail.read();
    expect(anchorProblems(gapped, [anchored('mlp-prod-loans/1', entries[2])]).problems).toEqual([]);
    expect(anchorProblems(gapped, [anchored('mlp-prod-loans/1', entries[1])]).problems).toEqual([
      'the registry anchors mlp-prod-loans/1 at entry 2, but entry 2 is gone from the trail',
    ]);
    expect(verifyTrail(gapped)).toContain('entry 2 carries sequence 3: an entry is missing or moved');
  });

  test('an anchor that is not <sequence>:<sha256> is named, not skipped', () => {
    expect(parseAnchor('3:abc')).toBeUndefined();
    expect(parseAnchor(`0:${'a'.repeat(64)}`)).toBeUndefined();
    expect(anchorProblems([], [{ modelVersion: 'v/1', metadata: { [TRAIL_ANCHOR_FIELD]: 'three' } }])).toEqual({
      problems: ["the registry's approvalTrailAnchor of v/1 is not <sequence>:<sha256>"],
      checked: 1,
    });
  });
});
