"""XGBoost 1.7.4 side of `npm run bench:explain`, with nthread=1.

    xgboost_side.py OUT_DIR SINGLE   loads OUT_DIR/xgboost-model (bench/scorer/xgboost_side.py train wrote it),
                                     writes XGBoost's pred_contribs of the first 1,000 rows of rows.f32 to
                                     reference_contribs.f64, and times pred_contribs one row at a time (a
                                     DMatrix per row, as a scorer explaining one request would); prints one
                                     JSON object (with XGBoost's per-record cost in a 1,000-row batch)
"""
import json
import os
import sys
import time

import numpy as np
import xgboost as xgb

N_FEATURES = 30


def main(out, n_single):
    bst = xgb.Booster(model_file=os.path.join(out, "xgboost-model"))
    bst.set_param({"nthread": 1})
    x = np.fromfile(os.path.join(out, "rows.f32"), dtype=np.float32).reshape(-1, N_FEATURES)
    reference = bst.predict(xgb.DMatrix(x[:1000], missing=np.nan, nthread=1), pred_contribs=True)
    reference.astype(np.float64).tofile(os.path.join(out, "reference_contribs.f64"))
    times = []
    for i in range(n_single):
        row = x[i % len(x)].reshape(1, -1)
        t0 = time.perf_counter_ns()
        bst.predict(xgb.DMatrix(row, missing=np.nan, nthread=1), pred_contribs=True)
        times.append((time.perf_counter_ns() - t0) / 1000)
    times.sort()
    # The same rows as one batch of 1,000: XGBoost's per-record cost when a file is explained at once.
    batch = xgb.DMatrix(x[:1000], missing=np.nan, nthread=1)
    t0 = time.perf_counter_ns()
    bst.predict(batch, pred_contribs=True)
    batch_us = (time.perf_counter_ns() - t0) / 1000 / 1000
    print(json.dumps({
        "xgboost": xgb.__version__,
        "single_p50_us": times[len(times) // 2],
        "single_p99_us": times[int(0.99 * (len(times) - 1))],
        "rows": n_single,
        "batch_us_per_record": batch_us,
    }))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
