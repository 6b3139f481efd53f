"""Trains a seeded XGBoost regressor on 6 features with values on a quarter grid (exact in
float32), saves it as JSON in a directory, and prints a list of one JSON case: the background rows, the
explained rows, and shap.TreeExplainer's interventional SHAP values against that background
(the exact Shapley values of the raw output with every background row weighted equally).
Run by tests/kernel_vs_tree_peer.rs."""

import json
import sys

import numpy as np
import shap
import xgboost as xgb

OUT = sys.argv[1]
rng = np.random.default_rng(7)
X = rng.integers(-8, 9, size=(400, 6)).astype(np.float64) / 4.0
y = X[:, 0] * X[:, 1] + np.sin(X[:, 2]) * 2.0 + np.maximum(X[:, 3], 0.0) * X[:, 4] - 0.5 * X[:, 5] ** 2
y += rng.normal(0.0, 0.1, size=len(y))
booster = xgb.train(
    {"objective": "reg:squarederror", "max_depth": 4, "eta": 0.3, "seed": 0},
    xgb.DMatrix(X, label=y),
    num_boost_round=40,
)
path = f"{OUT}/model.json"
booster.save_model(path)
background = X[:40]
explained = X[100:108]
explainer = shap.TreeExplainer(booster, data=background, feature_perturbation="interventional")
values = np.asarray(explainer.shap_values(explained), dtype=np.float64)
json.dump(
    [{
        "path": path,
        "features": [f"f{i}" for i in range(X.shape[1])],
        "background": background.tolist(),
        "x": explained.tolist(),
        "shap_values": values.tolist(),
        "expected_value": float(np.atleast_1d(explainer.expected_value)[0]),
    }],
    sys.stdout,
)
