/** The create-only contract every ObjectStore keeps, checked the same way for each implementation. */
import { createHash } from 'node:crypto';
import { ObjectConflictError, type ObjectStore } from '../../onprem-agent/sink/object-store';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Puts `first` at `key`, puts it again (a no-op), then a different body (a conflict); `first` stays. */
export async function expectCreateOnly(store: ObjectStore, key: string, first: Buffer, other: Buffer): Promise<void> {
  await store.putIfAbsent(key, first, sha(first));
  await expect(store.putIfAbsent(key, first, sha(first))).resolves.toMatchObject({ bytes: first.length });
  await expect(store.putIfAbsent(key, other, sha(other))).rejects.toBeInstanceOf(ObjectConflictError);
  expect(Buffer.from(await store.get(key))).toEqual(first);
}
