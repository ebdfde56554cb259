"""numpy side of `npm run bench:drift`: the same binning and PSI, column by column, on one thread.

    numpy_side.py DIR REPEATS   reads DIR/window.f64 (rows x features, row-major, float64; made
                                contiguous per column before timing), DIR/layout.json
                                (per feature: numeric edges, or the bin of each category index), times
                                binning + PSI REPEATS times and prints one JSON object: the best time and
                                the PSI per feature
"""
import json
import sys
import time

import numpy as np


def main(directory, repeats):
    with open(directory + "/layout.json") as f:
        layout = json.load(f)
    features = layout["features"]
    window = np.fromfile(directory + "/window.f64", dtype="<f8").reshape(-1, len(features))
    # Columns contiguous, outside the timing: numpy at its best layout, not the scorer's row-major one.
    columns = [np.ascontiguousarray(window[:, j]) for j in range(len(features))]
    eps = layout["epsilon"]
    references = [np.asarray(f["reference"], dtype=float) for f in features]
    lookups = [np.asarray(f["binOfCategory"], dtype=np.int64) if "binOfCategory" in f else None for f in features]
    edges = [np.asarray(f["edges"], dtype=float) if "edges" in f else None for f in features]

    def run():
        out = []
        for j, feature in enumerate(features):
            column = columns[j]
            width = len(references[j])
            missing = np.isnan(column)
            if edges[j] is not None:
                bins = np.searchsorted(edges[j], column, side="right")
            else:
                index = np.where(missing, 0, column).astype(np.int64)
                bins = np.where(index < 0, width - 2, lookups[j][np.maximum(index, 0)])
            bins = np.where(missing, width - 1, bins)
            actual = np.bincount(bins, minlength=width).astype(float)
            expected = references[j]
            keep = (expected > 0) | (actual > 0)
            p = np.maximum(expected[keep] / expected.sum(), eps)
            q = np.maximum(actual[keep] / actual.sum(), eps)
            out.append(float(np.sum((q - p) * np.log(q / p))))
        return out

    best = float("inf")
    psi = None
    for _ in range(repeats):
        started = time.perf_counter()
        psi = run()
        best = min(best, time.perf_counter() - started)
    print(json.dumps({"best_ms": best * 1000, "psi": psi, "numpy": np.__version__}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
