"""Local stand-in for SageMaker's built-in XGBoost 1.7-1 training container, on Debian's XGBoost 1.7.4.

It honours the container's contract under a job directory laid out like /opt/ml:
  input/config/hyperparameters.json   string values, as SageMaker passes them
  input/config/inputdataconfig.json   channel -> {"ContentType": ...}
  input/data/<channel>/*              label-first, headerless CSV (empty field = missing)
  model/xgboost-model                 written in XGBoost's legacy binary format
  output/failure                      the reason, when training fails (exit status 1)
Evaluation lines are printed as CloudWatch shows them (tabs as #011) so the job's metric regexes parse them.
Early stopping watches the last eval_metric on the validation channel; the model is truncated to the best
iteration.
"""
import glob
import json
import os
import sys

import numpy as np
import pandas as pd
import xgboost as xgb

INT_PARAMS = {"num_round", "early_stopping_rounds", "max_depth", "seed", "num_class", "max_bin", "nthread"}


def fail(job, message):
    with open(os.path.join(job, "output", "failure"), "w") as f:
        f.write(message)
    print(message, file=sys.stderr)
    sys.exit(1)


def load_channel(job, name, content_types):
    files = sorted(f for f in glob.glob(os.path.join(job, "input", "data", name, "**"), recursive=True) if os.path.isfile(f))
    if not files:
        return None
    content_type = content_types.get(name, {}).get("ContentType", "text/libsvm")
    if content_type.split(";")[0].strip() != "text/csv":
        fail(job, f"channel {name}: content type {content_type} is not supported locally (use text/csv)")
    frames = [pd.read_csv(f, header=None, dtype=np.float32, keep_default_na=True) for f in files]
    data = pd.concat(frames, ignore_index=True)
    if data.shape[1] < 2:
        fail(job, f"channel {name}: needs a label column and at least one feature")
    label = data.iloc[:, 0].to_numpy()
    if np.isnan(label).any():
        fail(job, f"channel {name}: the label column has missing values")
    return xgb.DMatrix(data.iloc[:, 1:].to_numpy(), label=label, missing=np.nan, nthread=1)


def parse(name, value):
    if name in INT_PARAMS:
        return int(value)
    try:
        return float(value)
    except ValueError:
        return value


def main(job):
    os.makedirs(os.path.join(job, "output"), exist_ok=True)
    os.makedirs(os.path.join(job, "model"), exist_ok=True)
    with open(os.path.join(job, "input", "config", "hyperparameters.json")) as f:
        raw = json.load(f)
    with open(os.path.join(job, "input", "config", "inputdataconfig.json")) as f:
        content_types = json.load(f)
    if any(not isinstance(v, str) for v in raw.values()):
        fail(job, "hyperparameters must be strings, as SageMaker passes them")
    try:
        params = {k: parse(k, v) for k, v in raw.items()}
    except ValueError as error:
        fail(job, f"invalid hyperparameter: {error}")
    if "num_round" not in params:
        fail(job, "hyperparameter num_round is required")
    num_round = params.pop("num_round")
    early = params.pop("early_stopping_rounds", None)
    metrics = [m.strip() for m in str(params.pop("eval_metric", "")).split(",") if m.strip()]
    if metrics:
        params["eval_metric"] = metrics
    params["nthread"] = params.get("nthread", 1)

    train = load_channel(job, "train", content_types)
    if train is None:
        fail(job, "channel train is required")
    validation = load_channel(job, "validation", content_types)
    evals = [(train, "train")] + ([(validation, "validation")] if validation is not None else [])
    if early is not None and (validation is None or not metrics):
        fail(job, "early_stopping_rounds needs a validation channel and eval_metric")

    class CloudWatchLines(xgb.callback.TrainingCallback):
        def after_iteration(self, model, epoch, evals_log):
            fields = [f"{data}-{metric}:{values[-1]:.5f}" for data, log in evals_log.items() for metric, values in log.items()]
            print(f"[{epoch}]#011" + "#011".join(fields), flush=True)
            return False

    try:
        booster = xgb.train(params, train, num_boost_round=num_round, evals=evals, early_stopping_rounds=early,
                            verbose_eval=False, callbacks=[CloudWatchLines()])
    except xgb.core.XGBoostError as error:
        fail(job, f"XGBoost failed: {str(error).splitlines()[0]}")
    if early is not None:
        best = booster.best_iteration
        print(f"Stopping. Best iteration:#011[{best}]", flush=True)
        booster = booster[: best + 1]
    booster.save_model(os.path.join(job, "model", "xgboost-model"))


if __name__ == "__main__":
    main(sys.argv[1])
