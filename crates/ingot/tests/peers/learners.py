"""scikit-learn peers for Ingot's knn, kmeans, pca and random-cut-forest.

usage:
  learners.py export DIR
      writes DATASET.csv (features + "target"), DATASET_train.csv and DATASET_test.csv (a
      seeded stratified 75/25 split) for iris, wine, breast_cancer, digits and diabetes, and
      anomalies.csv (inliers from two Gaussian blobs plus uniform anomalies, label
      "is_anomaly").
  learners.py knn DIR DATASET TASK K METRIC
      scikit-learn's held-out accuracy (classification) or R² (regression) of
      StandardScaler + KNeighbors* on the split.
  learners.py kmeans DIR DATASET K
      KMeans(n_clusters=K, n_init=10) inertia on the features (no scaling).
  learners.py pca DIR DATASET
      PCA explained_variance_ratio_ (all components) on the features.
  learners.py anomalies DIR INGOT_PREDICTIONS
      ROC AUC of Ingot's scores and of IsolationForest's on anomalies.csv.
Prints one JSON object.
"""
import json
import os
import sys

import numpy as np
import pandas as pd
from sklearn import datasets, metrics
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

LOADERS = {
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
    "digits": datasets.load_digits,
    "diabetes": datasets.load_diabetes,
}


def features(frame):
    return frame.drop(columns=["target"]).to_numpy(dtype=float)


def export(directory):
    for name, load in LOADERS.items():
        bunch = load()
        columns = [f"f{i}" for i in range(bunch.data.shape[1])]
        frame = pd.DataFrame(bunch.data, columns=columns)
        frame["target"] = bunch.target
        frame.to_csv(os.path.join(directory, f"{name}.csv"), index=False)
        stratify = None if name == "diabetes" else frame["target"]
        train, test = train_test_split(frame, test_size=0.25, random_state=0, stratify=stratify)
        train.to_csv(os.path.join(directory, f"{name}_train.csv"), index=False)
        test.to_csv(os.path.join(directory, f"{name}_test.csv"), index=False)
    rng = np.random.default_rng(0)
    inliers = np.vstack([
        rng.normal(-2.0, 1.0, size=(1000, 6)),
        rng.normal(2.0, 0.7, size=(1000, 6)),
    ])
    anomalies = rng.uniform(-4.0, 4.0, size=(40, 6))
    frame = pd.DataFrame(np.vstack([inliers, anomalies]), columns=[f"x{i}" for i in range(6)])
    frame["is_anomaly"] = [0] * len(inliers) + [1] * len(anomalies)
    frame.to_csv(os.path.join(directory, "anomalies.csv"), index=False)
    return {"exported": sorted(LOADERS) + ["anomalies"]}


def knn(directory, name, task, k, metric):
    train = pd.read_csv(os.path.join(directory, f"{name}_train.csv"))
    test = pd.read_csv(os.path.join(directory, f"{name}_test.csv"))
    if task == "classification":
        model = KNeighborsClassifier(n_neighbors=int(k), metric=metric, algorithm="brute")
    else:
        model = KNeighborsRegressor(n_neighbors=int(k), metric=metric, algorithm="brute")
    pipeline = make_pipeline(StandardScaler(), model).fit(features(train), train["target"])
    predicted = pipeline.predict(features(test))
    if task == "classification":
        return {"accuracy": float(metrics.accuracy_score(test["target"], predicted))}
    return {"r2": float(metrics.r2_score(test["target"], predicted))}


def kmeans(directory, name, k):
    frame = pd.read_csv(os.path.join(directory, f"{name}.csv"))
    model = KMeans(n_clusters=int(k), n_init=10, random_state=0).fit(features(frame))
    return {"inertia": float(model.inertia_)}


def pca(directory, name):
    frame = pd.read_csv(os.path.join(directory, f"{name}.csv"))
    model = PCA().fit(features(frame))
    return {"explained_variance_ratio": [float(v) for v in model.explained_variance_ratio_]}


def anomalies(directory, predictions):
    frame = pd.read_csv(os.path.join(directory, "anomalies.csv"))
    x = frame.drop(columns=["is_anomaly"]).to_numpy()
    y = frame["is_anomaly"].to_numpy()
    ours = pd.read_csv(predictions)["score"].to_numpy()
    forest = IsolationForest(n_estimators=100, random_state=0).fit(x)
    peer = -forest.score_samples(x)
    return {
        "ingot_auc": float(metrics.roc_auc_score(y, ours)),
        "isolation_forest_auc": float(metrics.roc_auc_score(y, peer)),
    }


COMMANDS = {"export": export, "knn": knn, "kmeans": kmeans, "pca": pca, "anomalies": anomalies}

if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    print(json.dumps(COMMANDS[command](*arguments)))
