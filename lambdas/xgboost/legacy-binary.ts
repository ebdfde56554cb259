/**
 * Reader for XGBoost's legacy binary model format (what SageMaker's built-in XGBoost 1.7-1 writes as
 * `xgboost-model`): the `binf` header, LearnerModelParam, objective and booster names, the GBTree model with
 * its RegTrees, tree_info, DART weights and the attribute list, all little-endian as XGBoost writes them on x86
 * and ARM. Node records are used where they lie: the file holds XGBoost's in-memory node layout.
 */
import { ModelFormatError } from './model-error';
import { parseObjective } from './objective';
import { assembleEnsemble, NODE_WORDS, type RawForest, type TreeEnsemble } from './tree-ensemble';

const LEARNER_PARAM_BYTES = 136;
const GBTREE_PARAM_BYTES = 160;
const TREE_PARAM_BYTES = 148;
const NODE_BYTES = NODE_WORDS * 4;
const NODE_STAT_BYTES = 16;
const utf8 = new TextDecoder('utf-8');

/** Options of {@link readLegacyBinary}. */
export interface LegacyReadOptions {
  /**
   * The bytes are a private buffer the reader may rearrange (a freshly decompressed archive): node records
   * are then aligned in place, moving the file's tail back by up to 3 bytes, instead of copied. @default false
   */
  readonly mayRearrange?: boolean;
}

/** Parses a legacy binary model (with or without the `binf` prefix). */
export function readLegacyBinary(bytes: Uint8Array, options: LegacyReadOptions = {}): TreeEnsemble {
  const r = new Cursor(bytes);
  if (bytes.length >= 4 && r.peekAscii(4) === 'binf') r.skip(4);

  const learner = r.block(LEARNER_PARAM_BYTES, 'learner parameters');
  const baseScore = learner.getFloat32(0, true);
  const numFeature = learner.getUint32(4, true);
  const numClass = learner.getInt32(8, true);
  const hasAttributes = learner.getInt32(12, true);
  const majorVersion = learner.getUint32(20, true);
  const minorVersion = learner.getUint32(24, true);
  if (majorVersion < 1) {
    throw new ModelFormatError('models written by XGBoost before 1.0 are not supported (re-save with XGBoost >= 1.0)');
  }
  if (numClass < 0) throw new ModelFormatError(`invalid class count ${numClass}`);

  const objective = parseObjective(r.string('objective name'));
  const boosterName = r.string('booster name');
  if (boosterName === 'gblinear') throw new ModelFormatError('gblinear models are not supported: only tree boosters');
  if (boosterName !== 'gbtree' && boosterName !== 'dart') {
    throw new ModelFormatError(`unknown booster "${boosterName.slice(0, 32)}"`);
  }

  const gbtree = r.block(GBTREE_PARAM_BYTES, 'gbtree parameters');
  const numTrees = gbtree.getInt32(0, true);
  const numOutputGroup = gbtree.getInt32(24, true);
  const sizeLeafVector = gbtree.getInt32(28, true);
  if (numTrees < 0 || numTrees > r.remaining() / (TREE_PARAM_BYTES + NODE_BYTES + NODE_STAT_BYTES)) {
    throw new ModelFormatError(`tree count ${numTrees} does not fit the file`);
  }
  if (sizeLeafVector !== 0) throw new ModelFormatError('multi-output (vector-leaf) trees are not supported');

  const forest = readTrees(r.restAsWords(options.mayRearrange === true), numTrees);
  r.skip(forest.bytes);

  const treeInfo = r.block(numTrees * 4, 'tree_info');
  const treeGroup = new Int32Array(numTrees);
  for (let t = 0; t < numTrees; t++) treeGroup[t] = treeInfo.getInt32(t * 4, true);

  let treeWeight: Float32Array | undefined;
  if (boosterName === 'dart' && numTrees > 0) {
    const count = r.uint64('weight_drop length');
    if (count !== numTrees) throw new ModelFormatError(`weight_drop has ${count} entries for ${numTrees} trees`);
    const weights = r.block(count * 4, 'weight_drop');
    treeWeight = new Float32Array(count);
    for (let t = 0; t < count; t++) treeWeight[t] = weights.getFloat32(t * 4, true);
  }

  const attributes: Record<string, string> = Object.create(null);
  if (hasAttributes !== 0) {
    const count = r.uint64('attribute count');
    if (count > r.remaining() / 16) throw new ModelFormatError(`attribute count ${count} does not fit the file`);
    for (let i = 0; i < count; i++) {
      const key = r.string('attribute name');
      attributes[key] = r.string(`attribute ${key.slice(0, 32)}`);
    }
  }
  if (r.remaining() !== 0) throw new ModelFormatError(`${r.remaining()} unexpected bytes after the model`);

  const numGroup = Math.max(1, numOutputGroup, numClass);
  return assembleEnsemble(
    {
      format: 'binary',
      objective,
      booster: boosterName,
      numFeature,
      numGroup,
      baseScore: [baseScore],
      treeGroup,
      treeWeight,
      attributes,
      version: [majorVersion, minorVersion],
    },
    forest.trees,
  );
}

const TREE_PARAM_WORDS = TREE_PARAM_BYTES / 4;
const NODE_STAT_WORDS = NODE_STAT_BYTES / 4;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Reads `numTrees` RegTrees from the start of `words`. The file stores each tree as its parameters, its node
 * records (XGBoost's in-memory `RegTree::Node`, the layout {@link RawForest} uses) and its node statistics;
 * the records are used where they lie. Deleted nodes are not counted against the tree's header: the
 * assembler rejects any that is reachable, and unreachable ones do not change the model.
 */
function readTrees(words: Int32Array, numTrees: number): { trees: RawForest; bytes: number } {
  const numWords = words.length;
  const offset = new Int32Array(numTrees + 1);
  const start = new Int32Array(numTrees);
  let w = 0;
  for (let t = 0; t < numTrees; t++) {
    if (w + TREE_PARAM_WORDS > numWords) throw new ModelFormatError(`truncated model: tree ${t} parameters`);
    const numNodes = words[w + 1];
    const numDeleted = words[w + 2];
    if (words[w + 5] !== 0) throw new ModelFormatError(`tree ${t}: vector leaves are not supported`);
    const size = numNodes * (NODE_WORDS + NODE_STAT_WORDS);
    if (numNodes < 1 || numDeleted < 0 || numDeleted >= numNodes || w + TREE_PARAM_WORDS + size > numWords) {
      throw new ModelFormatError(`tree ${t}: node count ${numNodes} does not fit the file`);
    }
    start[t] = w + TREE_PARAM_WORDS;
    offset[t + 1] = offset[t] + numNodes;
    w += TREE_PARAM_WORDS + size;
  }
  // Covers (RTreeNodeStat.sum_hess, the second of its four words), gathered by global node index.
  const coverBits = new Int32Array(offset[numTrees]);
  for (let t = 0; t < numTrees; t++) {
    const stats = start[t] + (offset[t + 1] - offset[t]) * NODE_WORDS;
    for (let i = 0; i < offset[t + 1] - offset[t]; i++)
      coverBits[offset[t] + i] = words[stats + i * NODE_STAT_WORDS + 1];
  }
  return { trees: { offset, start, nodes: words, coverBits }, bytes: w * 4 };
}

/** Bounds-checked little-endian reader; every overrun names what was being read. */
class Cursor {
  private pos = 0;
  private view: DataView;

  constructor(private bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  remaining(): number {
    return this.bytes.length - this.pos;
  }

  peekAscii(n: number): string {
    return String.fromCharCode(...this.bytes.subarray(this.pos, this.pos + n));
  }

  skip(n: number): void {
    this.pos += n;
  }

  private need(n: number, what: string): void {
    if (n > this.remaining()) {
      throw new ModelFormatError(
        `truncated model: ${what} needs ${n} bytes at offset ${this.pos}, ${this.remaining()} left`,
      );
    }
  }

  /**
   * The rest of the file as little-endian 32-bit words (a trailing partial word left out; the position does
   * not move). On a little-endian host the words are the file's own bytes when they are 4-byte aligned, or
   * when `mayMove` allows shifting the rest of the file back onto a 4-byte boundary over the bytes just read
   * (the cursor then follows it); otherwise a copy, made once.
   */
  restAsWords(mayMove: boolean): Int32Array {
    const count = this.remaining() >> 2;
    const misalignment = (this.bytes.byteOffset + this.pos) % 4;
    if (LITTLE_ENDIAN_HOST && misalignment !== 0 && mayMove && this.pos >= misalignment) {
      this.bytes.copyWithin(this.pos - misalignment, this.pos);
      this.bytes = this.bytes.subarray(0, this.bytes.length - misalignment);
      this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
      this.pos -= misalignment;
    } else if (misalignment !== 0 || !LITTLE_ENDIAN_HOST) {
      const words = new Int32Array(count);
      if (LITTLE_ENDIAN_HOST) new Uint8Array(words.buffer).set(this.bytes.subarray(this.pos, this.pos + count * 4));
      else for (let i = 0; i < count; i++) words[i] = this.view.getInt32(this.pos + i * 4, true);
      return words;
    }
    return new Int32Array(this.bytes.buffer, this.bytes.byteOffset + this.pos, count);
  }

  block(n: number, what: string): DataView {
    this.need(n, what);
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, n);
    this.pos += n;
    return view;
  }

  uint64(what: string): number {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(this.remaining())) throw new ModelFormatError(`${what} ${v} does not fit the file`);
    return Number(v);
  }

  string(what: string): string {
    const n = this.uint64(`${what} length`);
    this.need(n, what);
    const text = utf8.decode(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return text;
  }
}
