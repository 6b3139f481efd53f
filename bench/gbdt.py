"""Helpers of bench/gbdt.sh: data generation, the LightGBM / XGBoost peers, and scoring.

usage:
  gbdt.py generate KIND SEED SCALE OUT_DIR       KIND: higgs | regression | multiclass
  gbdt.py train PEER KIND TRAIN_CSV MODEL        PEER: lightgbm | xgboost
  gbdt.py predict PEER KIND MODEL TEST_CSV OUT_CSV
  gbdt.py score KIND TEST_CSV PREDICTIONS_CSV    prints the quality metric

Every peer runs with the same trees, leaves, learning rate, bins and 2 threads as Ingot.
"""
import json
import os
import sys

import numpy as np
import pandas as pd

TREES, LEAVES, RATE, BINS, THREADS, MIN_DATA = 100, 31, 0.1, 255, 2, 20
TEST_ROWS = 100_000
SIZES = {"higgs": (1_000_000, 28), "regression": (500_000, 50), "multiclass": (200_000, 20)}
CATEGORIES = [f"c{i:02d}" for i in range(30)]


def generate(kind, seed, scale, out_dir):
    rng = np.random.default_rng(seed)
    rows, cols = SIZES[kind]
    rows = int(rows * scale)
    n = rows + TEST_ROWS
    x = rng.standard_normal((n, cols)).astype(np.float64)
    x[:, 1] += 0.5 * x[:, 0]
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(cols)])
    if kind == "higgs":
        logit = (
            x[:, 0] * x[:, 1]
            + 2.0 * np.sin(x[:, 2])
            + 0.7 * x[:, 3] ** 2
            - 0.7
            + 0.5 * x[:, 4]
            + np.abs(x[:, 5]) * x[:, 6]
            + 0.3 * x[:, 7:14].sum(axis=1)
        )
        y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
        for c in range(20, 28):
            frame.iloc[rng.random(n) < 0.05, c] = np.nan
    elif kind == "regression":
        y = (
            10 * np.sin(x[:, 0] * x[:, 1])
            + 5 * (x[:, 2] - 0.5) ** 2
            + 3 * x[:, 3]
            + 2 * np.maximum(x[:, 4], 0) * x[:, 5]
            + x[:, 6:20] @ rng.uniform(-1, 1, 14)
            + rng.standard_normal(n)
        )
    else:
        a = rng.integers(0, len(CATEGORIES), n)
        b = rng.integers(0, 8, n)
        effect_a = rng.standard_normal(len(CATEGORIES))[a] * 1.5
        effect_b = rng.standard_normal(8)[b]
        score = np.stack(
            [
                x[:, 0] + effect_a,
                x[:, 1] * x[:, 2] + effect_b,
                np.sin(2 * x[:, 3]) - effect_a,
                x[:, 4] ** 2 - 1 + 0.5 * x[:, 5],
            ],
            axis=1,
        ) + rng.gumbel(size=(n, 4)) * 0.7
        y = score.argmax(axis=1)
        frame["cat_a"] = np.array(CATEGORIES)[a]
        frame["cat_b"] = np.array(CATEGORIES)[b]
    frame["y"] = y
    frame.iloc[:rows].to_csv(os.path.join(out_dir, "train.csv"), index=False, float_format="%.6g")
    frame.iloc[rows:].to_csv(os.path.join(out_dir, "test.csv"), index=False, float_format="%.6g")


def load(path):
    frame = pd.read_csv(path)
    for c in ("cat_a", "cat_b"):
        if c in frame:
            frame[c] = pd.Categorical(frame[c], categories=CATEGORIES)
    return frame.drop(columns=["y"]), frame["y"]


def objective(kind):
    return {"higgs": "binary", "regression": "regression", "multiclass": "multiclass"}[kind]


def train(peer, kind, train_csv, model_path):
    x, y = load(train_csv)
    if peer == "lightgbm":
        import lightgbm as lgb

        params = {
            "objective": objective(kind),
            "num_iterations": TREES,
            "num_leaves": LEAVES,
            "learning_rate": RATE,
            "max_bin": BINS,
            "num_threads": THREADS,
            "min_data_in_leaf": MIN_DATA,
            "verbose": -1,
        }
        if kind == "multiclass":
            params["num_class"] = 4
        lgb.train(params, lgb.Dataset(x, y)).save_model(model_path)
    else:
        import xgboost as xgb

        params = {
            "objective": {"higgs": "binary:logistic", "regression": "reg:squarederror", "multiclass": "multi:softprob"}[kind],
            "tree_method": "hist",
            "grow_policy": "lossguide",
            "max_leaves": LEAVES,
            "max_depth": 0,
            "eta": RATE,
            "max_bin": BINS,
            "nthread": THREADS,
        }
        if kind == "multiclass":
            params["num_class"] = 4
        data = xgb.DMatrix(x, y, enable_categorical=True)
        xgb.train(params, data, num_boost_round=TREES).save_model(model_path)


def predict(peer, kind, model_path, test_csv, out_csv):
    x, _ = load(test_csv)
    if peer == "lightgbm":
        import lightgbm as lgb

        pred = lgb.Booster(model_file=model_path).predict(x, num_threads=THREADS)
    else:
        import xgboost as xgb

        booster = xgb.Booster(model_file=model_path)
        booster.set_param({"nthread": THREADS})
        pred = booster.predict(xgb.DMatrix(x, enable_categorical=True))
    pred = np.asarray(pred)
    if kind == "higgs":
        pred = np.stack([1 - pred, pred], axis=1)
    pd.DataFrame(pred.reshape(len(x), -1)).to_csv(out_csv, index=False)


def score(kind, test_csv, predictions_csv):
    from sklearn import metrics

    y = pd.read_csv(test_csv, usecols=["y"])["y"].to_numpy()
    pred = pd.read_csv(predictions_csv).to_numpy()
    if kind == "higgs":
        value = metrics.roc_auc_score(y, pred[:, 1])
    elif kind == "regression":
        value = float(np.sqrt(metrics.mean_squared_error(y, pred[:, 0])))
    else:
        value = metrics.accuracy_score(y, pred.argmax(axis=1))
    print(json.dumps(value))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "generate":
        generate(args[0], int(args[1]), float(args[2]), args[3])
    elif command == "train":
        train(*args)
    elif command == "predict":
        predict(*args)
    elif command == "score":
        score(*args)
    else:
        raise SystemExit(f"unknown command {command}")
