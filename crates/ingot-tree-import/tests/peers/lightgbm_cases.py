"""Trains seeded LightGBM models, saves them as text in a directory, and prints one JSON case
per model: the test rows, LightGBM's predictions (output space, and raw scores) and the SHAP
values of shap.TreeExplainer and of LightGBM's own pred_contrib. Run by tests/lightgbm_peer.rs."""

import json
import sys

import lightgbm as lgb
import numpy as np
import shap

OUT = sys.argv[1]
rng = np.random.default_rng(20240612)
cases = []


def with_missing(X, rate=0.1):
    X = X.copy()
    X[rng.random(X.shape) < rate] = np.nan
    return X


def plain(a):
    return [[None if np.isnan(v) else float(v) for v in row] for row in a]


def case(name, booster, X, shap_ok=True, raw_divisor=1):
    path = f"{OUT}/{name}.txt"
    booster.save_model(path)
    pred = np.asarray(booster.predict(X), dtype=np.float64)
    raw = np.asarray(booster.predict(X, raw_score=True), dtype=np.float64).reshape(len(X), -1)
    k = raw.shape[1]
    contrib = np.asarray(booster.predict(X, pred_contrib=True), dtype=np.float64)
    # pred_contrib: rows × outputs·(features + 1), each output's block ending with its bias.
    contrib = contrib.reshape(len(X), k, X.shape[1] + 1)
    entry = {
        "name": name,
        "path": path,
        "features": booster.feature_name(),
        "x": plain(X),
        "expected": pred.tolist(),
        "margin": raw.tolist(),
        "contribs": contrib[:, :, :-1].tolist(),
        "bias": contrib[:, :, -1].tolist(),
        # In rf mode LightGBM averages its predictions but not its raw scores or contributions.
        "raw_divisor": raw_divisor,
    }
    explainer = shap.TreeExplainer(booster)
    values = explainer.shap_values(X)
    base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
    if isinstance(values, list):  # one rows × features array per output
        values = np.stack(values, axis=1)
    elif values.ndim == 2:
        values = values[:, None, :]
    else:  # rows × features × outputs
        values = values.transpose(0, 2, 1)
    if values.shape[1] == 2 and k == 1:  # [negative, positive] of a binary model
        values, base = values[:, 1:, :], base[1:]
    entry["shap"] = values.tolist()
    entry["shap_expected"] = base.tolist()
    cases.append(entry)


def train(params, X, y, rounds=25, **ds):
    params = {"seed": 1, "num_leaves": 15, "learning_rate": 0.2, "min_data_in_leaf": 10,
              "verbose": -1, "deterministic": True, "num_threads": 1, **params}
    return lgb.train(params, lgb.Dataset(X, label=y, **ds), num_boost_round=rounds)


n, m = 600, 6
X = rng.normal(size=(n, m))
lin = X[:, 0] - 0.7 * X[:, 1] + 0.5 * X[:, 2] * X[:, 3]
X = with_missing(X)
Xt = with_missing(rng.normal(size=(60, m)))
Xt[:5, 0] = 0.0  # zeros for the zero-as-missing model

y_bin = (lin + rng.normal(scale=0.5, size=n) > 0).astype(float)
case("binary", train({"objective": "binary"}, X, y_bin), Xt)
case("binary_sigmoid", train({"objective": "binary", "sigmoid": 0.7}, X, y_bin), Xt)
y3 = np.digitize(lin + rng.normal(scale=0.3, size=n), [-0.5, 0.5]).astype(float)
case("multiclass", train({"objective": "multiclass", "num_class": 3}, X, y3, 15), Xt)
case("multiclass_two_classes", train({"objective": "multiclass", "num_class": 2}, X, y_bin, 10), Xt)
case("multiclassova", train({"objective": "multiclassova", "num_class": 3}, X, y3, 10), Xt)
y_reg = 3 * lin + rng.normal(size=n) + 10
case("regression", train({"objective": "regression"}, X, y_reg), Xt)
case("regression_l1", train({"objective": "regression_l1"}, X, y_reg), Xt)
case("huber", train({"objective": "huber", "alpha": 2.0}, X, y_reg), Xt)
case("fair", train({"objective": "fair"}, X, y_reg), Xt)
case("quantile", train({"objective": "quantile", "alpha": 0.8}, X, y_reg), Xt)
y_cnt = rng.poisson(np.exp(0.5 * np.tanh(lin))).astype(float)
case("poisson", train({"objective": "poisson"}, X, y_cnt), Xt)
case("gamma", train({"objective": "gamma"}, X, y_cnt + 1), Xt)
case("tweedie", train({"objective": "tweedie"}, X, y_cnt), Xt)
case("mape", train({"objective": "mape"}, X, y_reg), Xt)
case("cross_entropy", train({"objective": "cross_entropy"}, X, y_bin * 0.8 + 0.1), Xt)
case("regression_sqrt", train({"objective": "regression", "reg_sqrt": True}, X, y_reg), Xt)
case("zero_as_missing", train({"objective": "regression", "zero_as_missing": True},
                              np.where(rng.random(X.shape) < 0.2, 0.0, X), y_reg), Xt)
case("no_missing", train({"objective": "regression", "use_missing": False},
                         np.nan_to_num(X), y_reg), Xt)
case("random_forest", train({"objective": "binary", "boosting": "rf", "bagging_freq": 1,
                             "bagging_fraction": 0.7, "feature_fraction": 0.8}, X, y_bin, 10), Xt,
     raw_divisor=10)

# Categorical features given as integer codes, with unseen, negative and missing test codes.
cat = rng.integers(0, 8, n).astype(float)
cat[rng.random(n) < 0.08] = np.nan
num = rng.normal(size=n)
cat_X = np.c_[cat, num, rng.integers(0, 3, n)]
cat_y = np.isin(cat, [1, 3, 4]) * 2.0 + num + cat_X[:, 2] * 0.5 + rng.normal(scale=0.1, size=n)
cat_test = np.c_[np.r_[np.arange(-1, 11), [np.nan] * 3, rng.integers(0, 8, 25)],
                 rng.normal(size=40), rng.integers(-1, 5, 40)].astype(float)
case("categorical", train({"objective": "regression", "min_data_per_group": 5, "cat_smooth": 1,
                           "max_cat_to_onehot": 2}, cat_X, cat_y, 20, categorical_feature=[0, 2]),
     cat_test)
case("categorical_binary", train({"objective": "binary", "min_data_per_group": 5},
                                 cat_X, (cat_y > 1.5).astype(float), 20, categorical_feature=[0, 2]),
     cat_test)

json.dump(cases, sys.stdout)
