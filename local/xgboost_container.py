"""Local stand-in for SageMaker's built-in XGBoost 1.7-1 training container, on Debian's XGBoost 1.7.4.

It honours the container's contract under a job directory laid out like /opt/ml:
  input/config/hyperparameters.json   string values, as SageMaker passes them
  input/config/inputdataconfig.json   channel -> {"ContentType": ...}
  input/data/<channel>/*              label-first, headerless CSV (empty field = missing)
  model/xgboost-model                 written in XGBoost's legacy binary format
  output/failure                      the reason, when training fails (exit status 1)
Channels are read as the container reads CSV in File mode: XGBoost's own parser over the channel directory
(`<dir>?format=csv&label_column=0&delimiter=,`), not pandas, so an empty or `NaN` field is missing exactly as it
is in SageMaker, and the script needs nothing beyond Debian's python3-xgboost (and its python3-numpy).
Evaluation lines are printed as CloudWatch shows them (tabs as #011) so the job's metric regexes parse them.
Early stopping watches the last eval_metric on the validation channel; the model is truncated to the best
iteration.
"""
import json
import os
import re
import sys

import numpy as np
import xgboost as xgb

INT_PARAMS = {"num_round", "early_stopping_rounds", "max_depth", "seed", "num_class", "max_bin", "nthread"}


def fail(job, message):
    with open(os.path.join(job, "output", "failure"), "w") as f:
        f.write(message)
    print(message, file=sys.stderr)
    sys.exit(1)


def load_channel(job, name, content_types):
    directory = os.path.join(job, "input", "data", name)
    if not os.path.isdir(directory) or not any(os.path.isfile(os.path.join(directory, f)) for f in os.listdir(directory)):
        return None
    content_type = content_types.get(name, {}).get("ContentType") or "text/libsvm"
    media, *params = [part.strip().lower() for part in content_type.split(";")]
    if media not in ("text/csv", "csv"):
        fail(job, f"channel {name}: content type {content_type} is not supported locally (use text/csv)")
    if any(p.replace(" ", "").startswith("label_size=") and p.replace(" ", "") != "label_size=1" for p in params):
        fail(job, f"channel {name}: {content_type}: label_size must be 1")
    try:
        data = xgb.DMatrix(f"{directory}?format=csv&label_column=0&delimiter=,", nthread=1)
    except xgb.core.XGBoostError as error:
        fail(job, f"channel {name}: XGBoost cannot read the CSV: {reason(error)}")
    if data.num_col() < 1:
        fail(job, f"channel {name}: needs a label column and at least one feature")
    if np.isnan(data.get_label()).any():
        fail(job, f"channel {name}: the label column has missing values")
    return data


def reason(error):
    """The message of an XGBoost error, without its C++ stack trace and log prefixes."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip() and not line.strip().startswith("[bt]")]
    lines = [re.sub(r"^\[[0-9:]+\] \S+: ", "", line) for line in lines if line != "Stack trace:"]
    return lines[-1] if lines else "unknown error"


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
        fail(job, f"XGBoost failed: {reason(error)}")
    if early is not None:
        best = booster.best_iteration
        print(f"Stopping. Best iteration:#011[{best}]", flush=True)
        booster = booster[: best + 1]
    booster.save_model(os.path.join(job, "model", "xgboost-model"))


if __name__ == "__main__":
    main(sys.argv[1])
