"""scikit-learn peer for the linear learner's L1 / elastic-net penalties and for
`ingot evaluate`.

  linear_penalties.py data DATASET DIR
      Loads one of scikit-learn's shipped datasets (iris, wine, breast_cancer, diabetes),
      splits it 75/25 with a fixed seed and writes DIR/train.csv and DIR/test.csv (target
      column "y"; class names as text for iris and wine).
  linear_penalties.py compare DATASET DIR C_OR_ALPHA L1_RATIO INGOT_PREDICTIONS
      Fits LogisticRegression(C, l1_ratio, solver="saga") or ElasticNet(alpha, l1_ratio) on the
      same standardized training features, and prints JSON with both models' held-out quality,
      the largest difference between their predictions, their numbers of zero coefficients,
      and scikit-learn's metrics of Ingot's own predictions (for checking `ingot evaluate`).
"""
import json
import sys
import warnings

import numpy as np
import pandas as pd
import sklearn
from sklearn import datasets, metrics
from sklearn.linear_model import ElasticNet, LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

warnings.simplefilter("ignore")
LOADERS = {
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
    "diabetes": datasets.load_diabetes,
    "digits": datasets.load_digits,
}
mode, name, out_dir = sys.argv[1:4]
bunch = LOADERS[name]()
frame = pd.DataFrame(bunch.data, columns=[f"f{i}" for i in range(bunch.data.shape[1])])
regression = name == "diabetes"
if regression or name == "breast_cancer":
    frame["y"] = bunch.target
else:
    frame["y"] = [f"class_{bunch.target_names[t]}" for t in bunch.target]
train, test = train_test_split(frame, test_size=0.25, random_state=7, stratify=None if regression else frame["y"])

if mode == "data":
    train.to_csv(f"{out_dir}/train.csv", index=False)
    test.to_csv(f"{out_dir}/test.csv", index=False)
    sys.exit(0)

strength, l1_ratio, predictions_path = float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
features = [c for c in frame.columns if c != "y"]
scaler = StandardScaler().fit(train[features])
x_train, x_test = scaler.transform(train[features]), scaler.transform(test[features])
ours = pd.read_csv(predictions_path)
out = {}
if regression:
    if l1_ratio == 0.0:
        # Pure L2: scikit-learn's Ridge minimizes ||r||^2 + alpha_r ||w||^2, which is n times
        # ElasticNet's objective with alpha = strength, so alpha_r = strength * n.
        model = Ridge(alpha=strength * len(x_train), tol=1e-12)
    else:
        model = ElasticNet(alpha=strength, l1_ratio=l1_ratio, tol=1e-12, max_iter=1_000_000)
    model.fit(x_train, train["y"])
    peer, mine, y = model.predict(x_test), ours["prediction"].to_numpy(), test["y"].to_numpy()
    out["peer_quality"] = {"r2": metrics.r2_score(y, peer)}
    out["ingot_quality"] = {"r2": metrics.r2_score(y, mine)}
    out["max_abs_diff"] = float(np.max(np.abs(peer - mine)) / np.std(y))
    out["peer_zero_coefficients"] = int(np.sum(model.coef_ == 0))
    out["sklearn_metrics_of_ingot"] = {
        "mse": metrics.mean_squared_error(y, mine),
        "rmse": metrics.root_mean_squared_error(y, mine),
        "mae": metrics.mean_absolute_error(y, mine),
        "mape": metrics.mean_absolute_percentage_error(y, mine),
        "r2": metrics.r2_score(y, mine),
    }
else:
    if l1_ratio == 0.0:
        # Pure L2: scikit-learn's default penalty and solver (lbfgs).
        kwargs = {"C": strength, "tol": 1e-10, "max_iter": 1_000_000}
    else:
        kwargs = {"C": strength, "l1_ratio": l1_ratio, "solver": "saga", "tol": 1e-10, "max_iter": 1_000_000}
        if tuple(int(p) for p in sklearn.__version__.split(".")[:2]) < (1, 8):
            kwargs["penalty"] = "l1" if l1_ratio == 1.0 else "elasticnet"
    y_train, y = train["y"].astype(str), test["y"].astype(str).to_numpy()
    model = LogisticRegression(**kwargs).fit(x_train, y_train)
    classes = [str(c) for c in model.classes_]
    peer, mine = model.predict_proba(x_test), ours[classes].to_numpy()
    predicted = np.array(classes)[mine.argmax(axis=1)]
    quality = lambda p: {
        "accuracy": metrics.accuracy_score(y, np.array(classes)[p.argmax(axis=1)]),
        "log_loss": metrics.log_loss(y, p, labels=classes),
    }
    out["peer_quality"], out["ingot_quality"] = quality(peer), quality(mine)
    out["max_abs_diff"] = float(np.max(np.abs(peer - mine)))
    out["peer_zero_coefficients"] = int(np.sum(model.coef_ == 0))
    m = {"accuracy": metrics.accuracy_score(y, predicted), "log_loss": metrics.log_loss(y, mine, labels=classes)}
    for avg in ["micro", "macro", "weighted"]:
        m[f"precision_{avg}"] = metrics.precision_score(y, predicted, average=avg)
        m[f"recall_{avg}"] = metrics.recall_score(y, predicted, average=avg)
        m[f"f1_{avg}"] = metrics.f1_score(y, predicted, average=avg)
    if len(classes) == 2:
        positive = y == classes[1]
        m["precision"] = metrics.precision_score(y, predicted, pos_label=classes[1])
        m["recall"] = metrics.recall_score(y, predicted, pos_label=classes[1])
        m["f1"] = metrics.f1_score(y, predicted, pos_label=classes[1])
        m["roc_auc"] = metrics.roc_auc_score(positive, mine[:, 1])
        m["average_precision"] = metrics.average_precision_score(positive, mine[:, 1])
        precision, recall, _ = metrics.precision_recall_curve(positive, mine[:, 1])
        m["pr_auc"] = metrics.auc(recall, precision)
    else:
        m["roc_auc"] = metrics.roc_auc_score(y, mine, multi_class="ovr", average="macro", labels=classes)
    out["sklearn_metrics_of_ingot"] = m
    joined = ours[classes].copy()
    joined.insert(0, "label", y)
    joined.to_csv(f"{out_dir}/joined.csv", index=False)
if regression:
    pd.DataFrame({"label": y, "predicted": mine}).to_csv(f"{out_dir}/joined.csv", index=False)
print(json.dumps({k: (float(v) if isinstance(v, (np.floating,)) else v) for k, v in out.items()}, default=float))
