"""Prepares the serving benchmark: one XGBoost model (500 trees, 30 features) saved as XGBoost
JSON (for Ingot) and as an MLflow model (for `mlflow models serve`), plus request bodies:
1-row and 100-row CSV (header present, both servers read it) and a 1-row OIP tensor.
usage: serving_models.py OUT_DIR
"""
import json
import sys
from pathlib import Path

import numpy as np

from bench_model import FEATURES as features, train

out = Path(sys.argv[1])
model, x = train(np.random.default_rng(5))
model.get_booster().save_model(str(out / "model.json"))

import mlflow.xgboost
import pandas as pd

# A float64 signature: CSV bodies parse as float64, which MLflow refuses to narrow to float32.
mlflow.xgboost.save_model(
    model, str(out / "mlflow-model"), input_example=pd.DataFrame(x[:2].astype(np.float64), columns=features)
)


def csv(rows):
    lines = [",".join(features)] + [",".join(repr(float(v)) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


(out / "one.csv").write_text(csv(x[:1]))
(out / "hundred.csv").write_text(csv(x[:100]))
(out / "one.oip.json").write_text(
    json.dumps({"inputs": [{"name": "x", "shape": [1, 30], "datatype": "FP32", "data": x[0].tolist()}]})
)
