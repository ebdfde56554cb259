"""XGBoost 1.7.4 side of `npm run bench:scorer`, with nthread=1.

    xgboost_side.py train OUT_DIR ROWS   trains the benchmark model and writes xgboost-model, model.tar.gz,
                                         rows.f32 and reference_margin.f32 (XGBoost's margins of the first
                                         1,000 rows)
    xgboost_side.py time OUT_DIR SINGLE  loads OUT_DIR/xgboost-model and times XGBoost's own predictor on
                                         rows.f32; prints one JSON object
"""
import json
import os
import sys
import tarfile
import time

import numpy as np
import xgboost as xgb

N_FEATURES = 30


def train(out, n_rows):
    rng = np.random.default_rng(42)

    def rows(n):
        x = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
        x[rng.random(size=x.shape) < 0.05] = np.nan
        return x

    x_train = rows(10000)
    logit = np.nansum(x_train[:, :10] * np.linspace(1, -1, 10), axis=1) + np.sin(np.nan_to_num(x_train[:, 10]) * 3)
    y = (rng.random(len(x_train)) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    params = {"objective": "binary:logistic", "max_depth": 6, "eta": 0.1, "nthread": 1, "seed": 1}
    bst = xgb.train(params, xgb.DMatrix(x_train, label=y, missing=np.nan), 300)
    model_path = os.path.join(out, "xgboost-model")
    bst.save_model(model_path)
    with tarfile.open(os.path.join(out, "model.tar.gz"), "w:gz") as tar:
        tar.add(model_path, arcname="xgboost-model")
    x = rows(n_rows)
    x.tofile(os.path.join(out, "rows.f32"))
    reference = bst.inplace_predict(x[:1000], predict_type="margin")
    reference.astype(np.float32).tofile(os.path.join(out, "reference_margin.f32"))


def timing(out, n_single):
    bst = xgb.Booster(model_file=os.path.join(out, "xgboost-model"))
    bst.set_param({"nthread": 1})
    x = np.fromfile(os.path.join(out, "rows.f32"), dtype=np.float32).reshape(-1, N_FEATURES)
    n_rows = len(x)

    # Single-row latency: the call a scorer makes per request, one row at a time.
    for i in range(200):
        bst.inplace_predict(x[i : i + 1])
    latencies = []
    for i in range(n_single):
        row = x[i % n_rows : i % n_rows + 1]
        t0 = time.perf_counter_ns()
        bst.inplace_predict(row)
        latencies.append(time.perf_counter_ns() - t0)
    latencies.sort()

    # Batch throughput on one core: the C++ predictor over all rows, the best of three passes.
    bst.inplace_predict(x[:5000])
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        bst.inplace_predict(x)
        best = min(best, time.perf_counter() - t0)

    print(json.dumps({
        "xgboost": xgb.__version__,
        "trees": len(bst.get_dump()),
        "features": N_FEATURES,
        "rows": n_rows,
        "single_p50_us": latencies[len(latencies) // 2] / 1000,
        "single_p99_us": latencies[int(len(latencies) * 0.99)] / 1000,
        "batch_rows_per_s": n_rows / best,
    }))


if __name__ == "__main__":
    command, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if command == "train":
        train(out, count)
    elif command == "time":
        timing(out, count)
    else:
        sys.exit(f"unknown command {command!r}: use train or time")
