/**
 * The reader accepts only real trees. Starting from a model XGBoost wrote (JSON, so links can be edited by
 * name), broken links — a node shared by two parents, a cycle, the root as a child, twin children, a leaf
 * with a child — and a split on a missing feature are each rejected with an error naming the tree and node;
 * random relinking either fails that way or leaves a model that loads and terminates.
 */
import { readFileSync } from 'node:fs';
import { ModelFormatError } from '../../lambdas/xgboost/model-error';
import { Predictor } from '../../lambdas/xgboost/predictor';
import { readModel } from '../../lambdas/xgboost/read-model';
import { rowsAsMatrix, xgboostFixtures } from '../support/xgboost-fixtures';

const fixture = xgboostFixtures().cases.find((c) => c.name === 'binary_logistic')!;
const original = JSON.parse(readFileSync(fixture.files.json, 'utf8'));

interface JsonTree {
  left_children: number[];
  right_children: number[];
  parents: number[];
  split_indices: number[];
}

/** Reads the fixture after `edit` has changed a copy of its first tree. */
function readEdited(edit: (tree: JsonTree) => void) {
  const document = structuredClone(original);
  edit(document.learner.gradient_booster.model.trees[0]);
  return readModel(Buffer.from(JSON.stringify(document)));
}

/** The root's children a, b and a's children c, d (all splits in the fixture's depth-4 first tree). */
function family(tree: JsonTree) {
  const a = tree.left_children[0];
  const b = tree.right_children[0];
  const c = tree.left_children[a];
  const d = tree.right_children[a];
  expect(Math.min(a, b, c, d)).toBeGreaterThan(0);
  return { a, b, c, d };
}

const leafOf = (tree: JsonTree) => tree.left_children.findIndex((l) => l === -1);

test('the unedited fixture loads', () => {
  expect(readEdited(() => undefined).numTrees).toBe(fixture.num_trees);
});

test.each([
  [
    'a node shared by two parents',
    (tree: JsonTree) => {
      const { b, c } = family(tree);
      tree.right_children[b] = c;
    },
    /tree 0 node \d+: a child's parent link does not point back \(not a tree\)/,
  ],
  [
    'a cycle through the parent links',
    (tree: JsonTree) => {
      const { a, c } = family(tree);
      tree.left_children[c] = a;
      tree.parents[a] = c;
    },
    /tree 0 node 0: a child's parent link does not point back/,
  ],
  [
    'a node that is its own child',
    (tree: JsonTree) => {
      const { a } = family(tree);
      tree.left_children[a] = a;
    },
    /tree 0 node \d+: a child's parent link does not point back/,
  ],
  [
    'the root as a child',
    (tree: JsonTree) => {
      const { a } = family(tree);
      tree.right_children[a] = 0;
    },
    /tree 0 node \d+: child index outside 1\.\.\d+/,
  ],
  [
    'twin children',
    (tree: JsonTree) => {
      const { a, c } = family(tree);
      tree.right_children[a] = c;
    },
    /tree 0 node \d+: both children are node \d+/,
  ],
  [
    'a leaf with a right child',
    (tree: JsonTree) => {
      tree.right_children[leafOf(tree)] = 1;
    },
    /tree 0 node \d+: leaf with a right child/,
  ],
  [
    'a split on a feature the model does not have',
    (tree: JsonTree) => {
      tree.split_indices[0] = 10_000;
    },
    /tree 0 node 0: split feature 10000 outside 0\.\.\d+/,
  ],
])('%s is rejected', (_label, edit, message) => {
  expect(() => readEdited(edit)).toThrow(ModelFormatError);
  expect(() => readEdited(edit)).toThrow(message);
});

test('random relinking either fails cleanly or gives a model that loads and terminates', () => {
  let seed = 12345;
  const random = (n: number) => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return seed % n;
  };
  const x = rowsAsMatrix(fixture.rows.slice(0, 10), original.learner.learner_model_param.num_feature);
  let accepted = 0;
  for (let i = 0; i < 300; i++) {
    let model;
    try {
      model = readEdited((tree) => {
        const n = tree.left_children.length;
        const field = (['left_children', 'right_children', 'parents'] as const)[random(3)];
        tree[field][random(n)] = random(n + 1) - 1;
      });
    } catch (error) {
      expect(error).toBeInstanceOf(ModelFormatError);
      continue;
    }
    accepted++;
    const predictor = new Predictor(model);
    expect(predictor.predictMargin(x, 10, new Float32Array(10)).every(Number.isFinite)).toBe(true);
  }
  expect(accepted).toBeGreaterThan(0); // edits to unreachable nodes, or no-op edits, leave a sound model
});
