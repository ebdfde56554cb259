/**
 * The layout of a row's key vector (flat-forest.ts), which the tree builder and the branch-free walk share: two
 * keys per feature (the value and its negation, NaN as -Infinity in both), then one last key, -Infinity, that
 * every leaf reads.
 */

/** Index of a row's last key, -Infinity: the one leaves read. */
export function leafKey(numFeature: number): number {
  return 2 * numFeature;
}

/** Length of one row's key vector. */
export function keyWidth(numFeature: number): number {
  return leafKey(numFeature) + 1;
}
