"""scikit-learn peer for Ingot's linear learner and metrics.

Fits the same objective with scikit-learn on the same training file (mean imputation, one-hot
encoding with sorted categories, standardization of every encoded column, then L2-regularized
logistic or ridge regression with C = 1/(l2*n) or alpha = l2*n), scores the test file, and
computes scikit-learn's metrics on Ingot's own predictions. Prints one JSON object.

usage: linear_learner.py TASK TRAIN TEST TARGET L2 INGOT_PREDICTIONS [DROP ...]
"""
import json
import sys

import numpy as np
import pandas as pd
from sklearn import metrics
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import StandardScaler

task, train_path, test_path, target, l2, predictions_path, *drop = sys.argv[1:]
l2 = float(l2)
train = pd.read_csv(train_path)
test = pd.read_csv(test_path)


def features(frame, reference):
    x = frame.drop(columns=[target, *drop])
    columns = []
    for name in x.columns:
        if not pd.api.types.is_numeric_dtype(reference[name]):
            for category in sorted(reference[name].dropna().unique()):
                columns.append((x[name] == category).astype(float).rename(f"{name}={category}"))
        else:
            columns.append(x[name].astype(float).fillna(reference[name].astype(float).mean()))
    return pd.concat(columns, axis=1).to_numpy()


x_train = features(train, train)
x_test = features(test, train)
scaler = StandardScaler().fit(x_train)
x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
n = len(x_train)
ours = pd.read_csv(predictions_path)
out = {}
if task == "regression":
    model = Ridge(alpha=l2 * n, tol=1e-12).fit(x_train, train[target].astype(float))
    peer = model.predict(x_test)
    mine = ours["prediction"].to_numpy()
    y = test[target].astype(float).to_numpy()
    out["max_abs_diff"] = float(np.max(np.abs(peer - mine)))
    out["scale"] = float(np.std(y))
    out["metrics"] = {
        "rmse": float(np.sqrt(metrics.mean_squared_error(y, mine))),
        "mae": float(metrics.mean_absolute_error(y, mine)),
        "r2": float(metrics.r2_score(y, mine)),
    }
else:
    classes = [str(c) for c in sorted(train[target].unique())]
    model = LogisticRegression(C=1.0 / (l2 * n), tol=1e-12, max_iter=100_000).fit(
        x_train, train[target].astype(str)
    )
    assert list(model.classes_) == classes, (model.classes_, classes)
    peer = model.predict_proba(x_test)
    mine = ours[classes].to_numpy()
    y = test[target].astype(str).to_numpy()
    predicted = np.array(classes)[mine.argmax(axis=1)]
    out["max_abs_diff"] = float(np.max(np.abs(peer - mine)))
    out["scale"] = 1.0
    if len(classes) == 2:
        out["metrics"] = {
            "accuracy": float(metrics.accuracy_score(y, predicted)),
            "auc": float(metrics.roc_auc_score(y == classes[1], mine[:, 1])),
            "log_loss": float(metrics.log_loss(y, mine, labels=classes)),
            "f1": float(metrics.f1_score(y, predicted, pos_label=classes[1])),
        }
    else:
        out["metrics"] = {
            "accuracy": float(metrics.accuracy_score(y, predicted)),
            "auc": float(metrics.roc_auc_score(y, mine, multi_class="ovr", average="macro", labels=classes)),
            "log_loss": float(metrics.log_loss(y, mine, labels=classes)),
            "f1": float(metrics.f1_score(y, predicted, average="macro")),
        }
print(json.dumps(out))
