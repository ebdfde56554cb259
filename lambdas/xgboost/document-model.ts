/**
 * Reader for XGBoost's JSON and UBJSON model documents (XGBoost >= 1.0, including 2.x and 3.x): both decode
 * to the same tree of objects, which this module checks field by field and hands to the assembler.
 */
import { ModelFormatError } from './model-error';
import { parseObjective } from './objective';
import { assembleEnsemble, NODE_WORDS, type RawForest, type TreeEnsemble } from './tree-ensemble';
import { decodeUbjson } from './ubjson';

type Doc = Record<string, unknown>;

/** Parses a JSON model. XGBoost writes non-finite floats as bare `NaN`/`Infinity`, which JSON.parse rejects. */
export function readJsonModel(text: string): TreeEnsemble {
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g, (m) => (m.startsWith('"') ? m : 'null')));
  } catch (error) {
    throw new ModelFormatError(`not a valid JSON model: ${(error as Error).message.slice(0, 120)}`, { cause: error });
  }
  return fromDocument(doc, 'json');
}

/** Parses a UBJSON model. */
export function readUbjsonModel(bytes: Uint8Array): TreeEnsemble {
  return fromDocument(decodeUbjson(bytes), 'ubjson');
}

function fromDocument(doc: unknown, format: 'json' | 'ubjson'): TreeEnsemble {
  const root = object(doc, '(document)');
  const learner = object(root.learner, 'learner');
  const param = object(learner.learner_model_param, 'learner.learner_model_param');
  const objective = parseObjective(
    string(object(learner.objective, 'learner.objective').name, 'learner.objective.name'),
  );
  const booster = object(learner.gradient_booster, 'learner.gradient_booster');
  const boosterName = string(booster.name, 'learner.gradient_booster.name');

  let model: Doc;
  let treeWeight: number[] | undefined;
  if (boosterName === 'gbtree') {
    model = object(booster.model, 'gradient_booster.model');
  } else if (boosterName === 'dart') {
    model = object(object(booster.gbtree, 'gradient_booster.gbtree').model, 'gradient_booster.gbtree.model');
    treeWeight = Array.from(numbers(booster.weight_drop, 'gradient_booster.weight_drop'));
  } else if (boosterName === 'gblinear') {
    throw new ModelFormatError('gblinear models are not supported: only tree boosters');
  } else {
    throw new ModelFormatError(`unknown booster "${boosterName.slice(0, 32)}"`);
  }

  const treeDocs = list(model.trees, 'model.trees');
  const numTrees = integer(object(model.gbtree_model_param, 'model.gbtree_model_param').num_trees, 'num_trees');
  if (numTrees !== treeDocs.length)
    throw new ModelFormatError(`num_trees is ${numTrees} but ${treeDocs.length} trees are stored`);
  const treeGroup = integers(model.tree_info, 'model.tree_info');
  const trees = concatenate(treeDocs.map((tree, t) => readTree(object(tree, `trees[${t}]`), t)));

  const numClass = integer(param.num_class ?? '0', 'learner_model_param.num_class');
  const numTarget = integer(param.num_target ?? '1', 'learner_model_param.num_target');
  if (numTarget > 1) throw new ModelFormatError('multi-target models are not supported');

  return assembleEnsemble(
    {
      format,
      objective,
      booster: boosterName,
      numFeature: integer(param.num_feature, 'learner_model_param.num_feature'),
      numGroup: Math.max(1, numClass),
      baseScore: baseScores(param.base_score),
      treeGroup,
      treeWeight,
      attributes: stringRecord(learner.attributes),
      featureNames: optionalStrings(learner.feature_names, 'learner.feature_names'),
      featureTypes: optionalStrings(learner.feature_types, 'learner.feature_types'),
      version: root.version === undefined ? undefined : Array.from(numbers(root.version, 'version')),
    },
    trees,
  );
}

/** One tree's arrays as stored in the document. */
interface DocTree {
  readonly left: ArrayLike<number>;
  readonly right: ArrayLike<number>;
  readonly parent: ArrayLike<number>;
  readonly splitIndex: ArrayLike<number>;
  readonly condition: ArrayLike<number>;
  readonly defaultLeft: ArrayLike<number>;
  readonly categories?: Map<number, ArrayLike<number>>;
  /** `sum_hessian`, when stored. */
  readonly cover?: ArrayLike<number>;
}

/** Joins per-tree arrays into one {@link RawForest} of node records (categorical nodes re-keyed to global ones). */
function concatenate(trees: DocTree[]): RawForest {
  const offset = new Int32Array(trees.length + 1);
  trees.forEach((tree, t) => (offset[t + 1] = offset[t] + tree.left.length));
  const nodes = new Int32Array(offset[trees.length] * NODE_WORDS);
  const condition = new Float32Array(1);
  const conditionBits = new Int32Array(condition.buffer);
  const categories = new Map<number, ArrayLike<number>>();
  // Covers only when every tree has them, one per node.
  const covered = trees.every((tree) => tree.cover !== undefined && tree.cover.length === tree.left.length);
  const cover = covered ? new Float32Array(offset[trees.length]) : undefined;
  trees.forEach((tree, t) => {
    if (cover) for (let i = 0; i < tree.left.length; i++) cover[offset[t] + i] = tree.cover![i];
    const n = tree.left.length;
    for (const values of [tree.right, tree.parent, tree.splitIndex, tree.condition, tree.defaultLeft]) {
      if (values.length !== n) throw new ModelFormatError(`tree ${t}: node arrays differ in length`);
    }
    const index = (value: number, min: number, max: number, what: string, i: number): number => {
      if (!(Number.isInteger(value) && value >= min && value <= max)) {
        throw new ModelFormatError(`tree ${t} node ${i}: ${what} ${value} is out of range`);
      }
      return value;
    };
    for (let i = 0; i < n; i++) {
      const word = (offset[t] + i) * NODE_WORDS;
      // Indices must fit the record's 31 bits; the root's parent may be 2^31 - 1, XGBoost's "no parent".
      nodes[word] = index(tree.parent[i], -1, 0x7fffffff, 'parent', i);
      nodes[word + 1] = index(tree.left[i], -1, 0x7ffffffe, 'left child', i);
      nodes[word + 2] = index(tree.right[i], -1, 0x7ffffffe, 'right child', i);
      nodes[word + 3] =
        index(tree.splitIndex[i], 0, 0x7ffffffe, 'split index', i) | (tree.defaultLeft[i] ? 1 << 31 : 0);
      condition[0] = tree.condition[i];
      nodes[word + 4] = conditionBits[0];
    }
    tree.categories?.forEach((cats, node) => categories.set(offset[t] + node, cats));
  });
  const start = offset.map((entry) => entry * NODE_WORDS).subarray(0, trees.length);
  return {
    offset,
    start,
    nodes,
    categories: categories.size > 0 ? categories : undefined,
    ...(cover ? { coverBits: new Int32Array(cover.buffer) } : {}),
  };
}

function readTree(tree: Doc, t: number): DocTree {
  const at = (field: string) => `trees[${t}].${field}`;
  const treeParam = object(tree.tree_param, at('tree_param'));
  const leafVector = integer(treeParam.size_leaf_vector ?? '0', at('tree_param.size_leaf_vector'));
  if (leafVector > 1) throw new ModelFormatError(`tree ${t}: vector leaves are not supported`);
  const numNodes = integer(treeParam.num_nodes, at('tree_param.num_nodes'));
  const left = integers(tree.left_children, at('left_children'));
  if (left.length !== numNodes)
    throw new ModelFormatError(`tree ${t}: ${left.length} nodes stored, num_nodes is ${numNodes}`);
  const parents = integers(tree.parents, at('parents'));
  const splitType = tree.split_type === undefined ? undefined : integers(tree.split_type, at('split_type'));
  let categories: Map<number, ArrayLike<number>> | undefined;
  if (splitType && Array.prototype.some.call(splitType, (type: number) => type !== 0)) {
    const nodes = integers(tree.categories_nodes, at('categories_nodes'));
    const segments = integers(tree.categories_segments, at('categories_segments'));
    const sizes = integers(tree.categories_sizes, at('categories_sizes'));
    const values = numbers(tree.categories, at('categories'));
    if (segments.length !== nodes.length || sizes.length !== nodes.length) {
      throw new ModelFormatError(`tree ${t}: categorical split tables disagree in length`);
    }
    categories = new Map();
    for (let i = 0; i < nodes.length; i++) {
      const [node, start, size] = [nodes[i], segments[i], sizes[i]];
      if (!(start >= 0 && size >= 0 && start + size <= values.length) || splitType[node] !== 1) {
        throw new ModelFormatError(`tree ${t}: categorical split of node ${node} is inconsistent`);
      }
      categories.set(node, Array.prototype.slice.call(values, start, start + size));
    }
    for (let node = 0; node < splitType.length; node++) {
      if (splitType[node] === 1 && !categories.has(node)) {
        throw new ModelFormatError(`tree ${t}: node ${node} lacks its categories`);
      }
    }
  }
  return {
    left,
    right: integers(tree.right_children, at('right_children')),
    parent: parents,
    splitIndex: integers(tree.split_indices, at('split_indices')),
    condition: numbers(tree.split_conditions, at('split_conditions')),
    defaultLeft: integers(tree.default_left, at('default_left')),
    categories,
    ...(tree.sum_hessian === undefined ? {} : { cover: numbers(tree.sum_hessian, at('sum_hessian')) }),
  };
}

function object(value: unknown, path: string): Doc {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw new ModelFormatError(`${path} is missing or not an object`);
  }
  return value as Doc;
}

function list(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new ModelFormatError(`${path} is missing or not an array`);
  return value;
}

function string(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new ModelFormatError(`${path} is missing or not a string`);
  return value;
}

/** XGBoost stores scalar parameters as strings ("12", "5E-1"); accept numbers too. */
function integer(value: unknown, path: string): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
    throw new ModelFormatError(`${path} is not a non-negative integer`);
  return n;
}

/**
 * A numeric array: UBJSON typed arrays as they are (no copy), JSON arrays with nulls (from NaN) as NaN and
 * booleans as 0/1.
 */
function numbers(value: unknown, path: string): ArrayLike<number> {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return value as unknown as ArrayLike<number>;
  if (!Array.isArray(value)) throw new ModelFormatError(`${path} is missing or not an array`);
  return value.map((v, i) => {
    if (typeof v === 'number') return v;
    if (v === null) return Number.NaN;
    if (typeof v === 'boolean') return v ? 1 : 0;
    throw new ModelFormatError(`${path}[${i}] is not a number`);
  });
}

/** A numeric array of integers (indices, flags): packed into integer arrays later, so nothing may be truncated. */
function integers(value: unknown, path: string): ArrayLike<number> {
  const out = numbers(value, path);
  if (!(
    out instanceof Int32Array ||
    out instanceof Int16Array ||
    out instanceof Int8Array ||
    out instanceof Uint8Array
  )) {
    for (let i = 0; i < out.length; i++) {
      if (!Number.isInteger(out[i])) throw new ModelFormatError(`${path}[${i}] is not an integer`);
    }
  }
  return out;
}

/** base_score: "5E-1" (XGBoost 1.x/2.x) or "[5E-1]" / "[a,b,c]" (3.x, one per output group). */
function baseScores(value: unknown): number[] {
  const text = string(value, 'learner_model_param.base_score').trim();
  const parts = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1).split(',') : [text];
  const scores = parts.map((part) => Number(part.trim()));
  if (scores.length === 0 || scores.some((s) => !Number.isFinite(s))) {
    throw new ModelFormatError('learner_model_param.base_score is not a number');
  }
  return scores;
}

function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  if (value === undefined) return out;
  for (const [key, v] of Object.entries(object(value, 'learner.attributes'))) {
    if (typeof v === 'string') out[key] = v;
  }
  return out;
}

function optionalStrings(value: unknown, path: string): string[] | undefined {
  if (value === undefined) return undefined;
  const items = list(value, path);
  if (items.length === 0) return undefined;
  return items.map((item, i) => string(item, `${path}[${i}]`));
}
