"""Trains the peer models the serving parity test imports into Ingot.

Writes, into the directory given as argv[1]:
  churn.csv / house.csv          test rows (header, no target), float features, some missing
  <name>.<ext>                   the model files: XGBoost JSON, LightGBM text, ONNX
  expected.json                  {name: [library prediction per test row]}: the positive-class
                                 probability for classifiers, the value for regressors
"""
import json
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import xgboost as xgb
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

out = Path(sys.argv[1])
rng = np.random.default_rng(11)
FEATURES = ["tenure", "monthly", "calls", "usage", "age", "rooms", "area", "score"]


def table(rows, with_nan):
    x = rng.normal(size=(rows, len(FEATURES))).astype(np.float32)
    x[:, 0] = np.abs(x[:, 0]) * 24
    if with_nan:
        x[rng.random(x.shape) < 0.05] = np.nan
    return x


def write_csv(path, x):
    with open(path, "w") as f:
        f.write(",".join(FEATURES) + "\n")
        for row in x:
            f.write(",".join("" if np.isnan(v) else repr(float(v)) for v in row) + "\n")


train_c, test_c = table(600, True), table(120, True)
logit = 0.08 * np.nan_to_num(train_c[:, 0]) - 1.2 * np.nan_to_num(train_c[:, 1]) + np.nan_to_num(train_c[:, 2])
churn_y = (logit + rng.normal(scale=0.5, size=len(logit)) > 0).astype(int)
train_h, test_h = table(600, False), table(120, False)
house_y = 100 + 20 * train_h[:, 5] + 5 * train_h[:, 6] ** 2 + rng.normal(size=len(train_h))
write_csv(out / "churn.csv", test_c)
write_csv(out / "house.csv", test_h)
expected = {}

# XGBoost: a churn classifier and a house-price regressor.
churn_xgb = xgb.XGBClassifier(n_estimators=60, max_depth=4, learning_rate=0.2)
churn_xgb.fit(train_c, churn_y)
churn_xgb.get_booster().feature_names = FEATURES
churn_xgb.get_booster().save_model(str(out / "churn_xgb.json"))
expected["churn_xgb"] = churn_xgb.predict_proba(test_c)[:, 1].tolist()
house_xgb = xgb.XGBRegressor(n_estimators=80, max_depth=5, learning_rate=0.1)
house_xgb.fit(train_h, house_y)
house_xgb.get_booster().feature_names = FEATURES
house_xgb.get_booster().save_model(str(out / "house_xgb.json"))
expected["house_xgb"] = house_xgb.predict(test_h).tolist()

# LightGBM: the same two tasks.
churn_lgb = lgb.train(
    {"objective": "binary", "num_leaves": 15, "verbose": -1, "min_data_in_leaf": 10},
    lgb.Dataset(train_c, churn_y, feature_name=FEATURES),
    num_boost_round=50,
)
churn_lgb.save_model(str(out / "churn_lgb.txt"))
expected["churn_lgb"] = churn_lgb.predict(test_c).tolist()
house_lgb = lgb.train(
    {"objective": "regression", "num_leaves": 31, "verbose": -1},
    lgb.Dataset(train_h, house_y, feature_name=FEATURES),
    num_boost_round=60,
)
house_lgb.save_model(str(out / "house_lgb.txt"))
expected["house_lgb"] = house_lgb.predict(test_h).tolist()

# ONNX from scikit-learn: a scaler + logistic-regression pipeline, and gradient boosting.
filled = np.nan_to_num(train_c)
churn_sk = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression(max_iter=500))])
churn_sk.fit(filled, churn_y)
onnx = convert_sklearn(
    churn_sk,
    initial_types=[("float_input", FloatTensorType([None, len(FEATURES)]))],
    options={id(churn_sk): {"zipmap": False}},
)
(out / "churn_onnx.onnx").write_bytes(onnx.SerializeToString())
test_c_filled = np.nan_to_num(test_c)
write_csv(out / "churn_filled.csv", test_c_filled)
import onnxruntime as ort

session = ort.InferenceSession(str(out / "churn_onnx.onnx"), providers=["CPUExecutionProvider"])
expected["churn_onnx"] = session.run(None, {"float_input": test_c_filled})[1][:, 1].tolist()
house_sk = GradientBoostingRegressor(n_estimators=60, max_depth=3, random_state=0)
house_sk.fit(train_h, house_y)
onnx = convert_sklearn(house_sk, initial_types=[("float_input", FloatTensorType([None, len(FEATURES)]))])
(out / "house_onnx.onnx").write_bytes(onnx.SerializeToString())
session = ort.InferenceSession(str(out / "house_onnx.onnx"), providers=["CPUExecutionProvider"])
expected["house_onnx"] = session.run(None, {"float_input": test_h})[0][:, 0].tolist()

(out / "expected.json").write_text(json.dumps(expected))
