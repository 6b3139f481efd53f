"""Trains seeded XGBoost models, saves them as JSON in a directory, and prints one JSON case per
model: the test rows, XGBoost's predictions (output space, and margins) and the SHAP values of
shap.TreeExplainer and of XGBoost's own pred_contribs. Run by tests/xgboost_peer.rs."""

import json
import sys

import numpy as np
import shap
import xgboost as xgb

OUT = sys.argv[1]
rng = np.random.default_rng(20240611)
cases = []


def with_missing(X, rate=0.1):
    X = X.copy()
    X[rng.random(X.shape) < rate] = np.nan
    return X


def plain(a):
    return [[None if np.isnan(v) else float(v) for v in row] for row in a]


def softmax(m):
    e = np.exp(m - m.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def case(name, booster, X, expected=None, feature_types=None, names=None):
    path = f"{OUT}/{name}.json"
    booster.save_model(path)
    # The same booster in XGBoost's binary format (UBJSON), as `mlflow.xgboost` logs it.
    booster.save_model(f"{OUT}/{name}.ubj")
    d = xgb.DMatrix(X, missing=np.nan, feature_names=names, feature_types=feature_types,
                    enable_categorical=feature_types is not None)
    pred = booster.predict(d).astype(np.float64)
    margin = booster.predict(d, output_margin=True).astype(np.float64)
    contribs = booster.predict(d, pred_contribs=True).astype(np.float64)
    k = 1 if margin.ndim == 1 else margin.shape[1]
    margin = margin.reshape(len(X), k)
    # pred_contribs: rows × (features + 1) or rows × outputs × (features + 1); last is the bias.
    contribs = contribs.reshape(len(X), k, X.shape[1] + 1)
    entry = {
        "name": name,
        "path": path,
        "ubj_path": f"{OUT}/{name}.ubj",
        "features": names or [f"f{i}" for i in range(X.shape[1])],
        "x": plain(X),
        "expected": (pred if expected is None else expected(pred, margin)).tolist(),
        "margin": margin.tolist(),
        "contribs": contribs[:, :, :-1].tolist(),
        "bias": contribs[:, :, -1].tolist(),
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


def train(params, X, y, rounds=25, **dm):
    params = {"seed": 1, "max_depth": 4, "eta": 0.3, **params}
    return xgb.train(params, xgb.DMatrix(X, label=y, missing=np.nan, **dm), num_boost_round=rounds)


n, m = 500, 6
X = rng.normal(size=(n, m))
lin = X[:, 0] - 0.7 * X[:, 1] + 0.5 * X[:, 2] * X[:, 3]
X = with_missing(X)
Xt = with_missing(rng.normal(size=(60, m)))

y_bin = (lin + rng.normal(scale=0.5, size=n) > 0).astype(float)
case("binary_logistic", train({"objective": "binary:logistic"}, X, y_bin), Xt)
case("binary_logitraw", train({"objective": "binary:logitraw"}, X, y_bin), Xt,
     expected=lambda p, mg: 1 / (1 + np.exp(-mg[:, 0])))
y3 = np.digitize(lin + rng.normal(scale=0.3, size=n), [-0.5, 0.5]).astype(float)
case("multi_softprob", train({"objective": "multi:softprob", "num_class": 3}, X, y3, 15), Xt)
case("softprob_two_classes", train({"objective": "multi:softprob", "num_class": 2}, X, y_bin, 10), Xt)
case("multi_softmax", train({"objective": "multi:softmax", "num_class": 3}, X, y3, 10), Xt,
     expected=lambda p, mg: softmax(mg))
y_reg = 3 * lin + rng.normal(size=n) + 10
case("reg_squarederror", train({"objective": "reg:squarederror"}, X, y_reg), Xt)
case("reg_pseudohubererror", train({"objective": "reg:pseudohubererror", "huber_slope": 5.0}, X, y_reg),
     Xt)
case("reg_absoluteerror", train({"objective": "reg:absoluteerror"}, X, y_reg), Xt)
case("reg_quantileerror", train({"objective": "reg:quantileerror", "quantile_alpha": 0.8}, X, y_reg), Xt)
y_cnt = rng.poisson(np.exp(0.5 * np.tanh(lin))).astype(float)
case("count_poisson", train({"objective": "count:poisson"}, X, y_cnt), Xt)
case("reg_gamma", train({"objective": "reg:gamma"}, X, y_cnt + 1), Xt)
case("reg_tweedie", train({"objective": "reg:tweedie"}, X, y_cnt), Xt)
case("reg_squaredlogerror", train({"objective": "reg:squaredlogerror"}, X, y_cnt), Xt)
case("reg_logistic", train({"objective": "reg:logistic"}, X, y_bin * 0.8 + 0.1), Xt)
case("dart_binary", train({"objective": "binary:logistic", "booster": "dart", "rate_drop": 0.3,
                           "skip_drop": 0.0}, X, y_bin, 10), Xt)
case("parallel_trees", train({"objective": "multi:softprob", "num_class": 3,
                              "num_parallel_tree": 2, "subsample": 0.7}, X, y3, 5), Xt)

# Thresholds hit exactly: probes at every split condition c: c itself, its f32 neighbours, the
# f64 midpoint between c and the f32 below (where XGBoost's float32 rounding decides) and the
# f64 values around that midpoint. The data are plain float32 values, so the f32 below c has
# either significand parity (the parity decides the tie at the midpoint).
G = rng.normal(size=(400, 3)).astype(np.float32).astype(np.float64)
y_g = G[:, 0] + (G[:, 1] > 0.2) - G[:, 2] ** 2
# Stumps, so that every probe reaches the split it probes.
grid = train({"objective": "reg:squarederror", "max_depth": 1}, G, y_g, 30)
probes = []
for tree in json.loads(grid.save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"]:
    for i, left in enumerate(tree["left_children"]):
        if left == -1:
            continue
        f, c = tree["split_indices"][i], np.float32(tree["split_conditions"][i])
        below = np.nextafter(c, np.float32(-np.inf))
        mid = (float(below) + float(c)) / 2
        for v in [float(c), float(below), float(np.nextafter(c, np.float32(np.inf))), mid,
                  np.nextafter(mid, -np.inf), np.nextafter(mid, np.inf),
                  np.nextafter(float(c), -np.inf), np.nextafter(float(c), np.inf)]:
            row = G[len(probes) % len(G)].copy()
            row[f] = v
            probes.append(row)
case("exact_thresholds", grid, np.array(probes))

# A churn-like classifier and a house-price-like regressor with named, typed features.
n = 400
tenure = rng.integers(0, 72, n).astype(float)
charges = rng.uniform(20, 120, n)
churn_X = np.c_[tenure, charges, tenure * charges * rng.uniform(0.9, 1.1, n), rng.integers(0, 3, n),
                rng.integers(0, 8, n), rng.uniform(18, 80, n), rng.integers(0, 2, n), rng.gamma(2, 5, n)]
churn_X[rng.random(churn_X.shape) < 0.05] = np.nan
churn_names = ["tenure", "monthly_charges", "total_charges", "contract", "support_calls", "age",
               "has_partner", "data_gb"]
churn_types = ["int", "float", "float", "int", "int", "float", "int", "float"]
logit = -0.05 * np.nan_to_num(churn_X[:, 0]) + 0.02 * np.nan_to_num(churn_X[:, 1]) \
    - 0.8 * np.nan_to_num(churn_X[:, 3]) + 0.3 * np.nan_to_num(churn_X[:, 4])
churn_y = (logit + rng.logistic(size=n) > 0).astype(float)
churn = train({"objective": "binary:logistic", "max_depth": 5, "eta": 0.1}, churn_X, churn_y, 40,
              feature_names=churn_names, feature_types=churn_types)
case("churn", churn, churn_X[:80], names=churn_names, feature_types=churn_types)
sqft = rng.uniform(500, 4000, n)
house_X = np.c_[sqft, rng.integers(1, 6, n), rng.integers(1, 4, n), rng.integers(1900, 2024, n),
                rng.uniform(1000, 20000, n), rng.integers(0, 3, n), rng.integers(0, 10, n),
                rng.uniform(1, 10, n)]
house_X[rng.random(house_X.shape) < 0.03] = np.nan
house_names = ["sqft", "bedrooms", "bathrooms", "year_built", "lot_size", "garage",
               "neighborhood", "condition"]
price = 150 * sqft + 10000 * np.nan_to_num(house_X[:, 1]) + 500 * (np.nan_to_num(house_X[:, 3], nan=1950) - 1900) + rng.normal(0, 20000, n)
house = train({"objective": "reg:squarederror", "max_depth": 5, "eta": 0.1}, house_X, price, 60,
              feature_names=house_names)
case("house_prices", house, house_X[:80], names=house_names)

# Categorical splits (partition-based and one-hot), with unseen codes and missing values.
cat = rng.integers(0, 6, n).astype(float)
num = rng.normal(size=n)
cat_X = np.c_[cat, num]
cat_X[rng.random(cat_X.shape) < 0.08] = np.nan
cat_y = np.isin(cat_X[:, 0], [1, 3, 4]) * 2.0 + np.nan_to_num(cat_X[:, 1]) + rng.normal(scale=0.1, size=n)
cat_test = np.c_[np.r_[np.arange(-1, 9), [np.nan] * 3, rng.integers(0, 6, 20)],
                 rng.normal(size=33)].astype(float)
for name, onehot in [("categorical_partition", 1), ("categorical_onehot", 64)]:
    b = train({"objective": "reg:squarederror", "max_cat_to_onehot": onehot, "max_depth": 3},
              cat_X, cat_y, 10, feature_types=["c", "q"], enable_categorical=True)
    case(name, b, cat_test, feature_types=["c", "q"])

json.dump(cases, sys.stdout)
