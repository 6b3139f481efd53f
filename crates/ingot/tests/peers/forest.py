"""scikit-learn peer for Ingot's random-forest algorithm.

Writes a stratified (classification) train/test split of one scikit-learn dataset shipped with
the package (iris, wine, breast_cancer, diabetes), trains RandomForestClassifier or
RandomForestRegressor with the given parameters on the training file and prints one JSON object
with its held-out metrics and out-of-bag score.

usage: forest.py DATASET OUT_DIR N_ESTIMATORS MIN_SAMPLES_LEAF
"""
import json
import os
import sys

import pandas as pd
from sklearn import datasets, metrics
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.model_selection import train_test_split

name, out_dir, n_estimators, min_samples_leaf = sys.argv[1:]
loaders = {
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
    "diabetes": datasets.load_diabetes,
}
if name not in loaders:
    raise SystemExit(f"unknown dataset {name}")
x, y = loaders[name](return_X_y=True)
regression = name == "diabetes"

columns = [f"f{i}" for i in range(x.shape[1])]
frame = pd.DataFrame(x, columns=columns)
frame["target"] = y
train, test = train_test_split(
    frame, test_size=0.3, random_state=0, stratify=None if regression else y
)
train.to_csv(os.path.join(out_dir, "train.csv"), index=False)
test.to_csv(os.path.join(out_dir, "test.csv"), index=False)

params = dict(
    n_estimators=int(n_estimators),
    min_samples_leaf=int(min_samples_leaf),
    bootstrap=True,
    oob_score=True,
    n_jobs=2,
    random_state=0,
)
if regression:
    model = RandomForestRegressor(max_features=1.0, **params)
else:
    model = RandomForestClassifier(max_features="sqrt", **params)
model.fit(train[columns], train["target"])
truth = test["target"].to_numpy()
if regression:
    result = {"r2": metrics.r2_score(truth, model.predict(test[columns]))}
else:
    result = {"accuracy": metrics.accuracy_score(truth, model.predict(test[columns]))}
result["oob_score"] = float(model.oob_score_)
print(json.dumps({"metrics": result}))
