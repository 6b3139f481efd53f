"""Builds seeded scikit-learn models, exports them with skl2onnx, scores them with
onnxruntime and scikit-learn, and writes one ONNX file per case plus cases.json into the
directory given as the only argument. Used by tests/skl2onnx_peer.rs."""

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

warnings.filterwarnings("ignore")
OUT = Path(sys.argv[1])
rng = np.random.default_rng(7)


def house_prices(n=300):
    """~8 features: area, rooms, age, distance, ... -> price."""
    area = rng.uniform(40, 250, n)
    rooms = rng.integers(1, 7, n).astype(float)
    age = rng.uniform(0, 80, n)
    distance = rng.uniform(0.5, 30, n)
    garage = rng.integers(0, 2, n).astype(float)
    floor = rng.integers(0, 10, n).astype(float)
    quality = rng.uniform(1, 10, n)
    lot = rng.uniform(100, 2000, n)
    x = np.column_stack([area, rooms, age, distance, garage, floor, quality, lot])
    price = (
        1500 * area + 8000 * rooms - 400 * age - 2500 * distance + 12000 * garage
        + 900 * floor + 6000 * quality + 10 * lot + rng.normal(0, 15000, n) + 50000
    )
    return x, price


def churn(n=400):
    """~8 features: tenure, monthly charges, support calls, ... -> churned yes/no."""
    tenure = rng.integers(0, 72, n).astype(float)
    charges = rng.uniform(20, 120, n)
    calls = rng.poisson(2, n).astype(float)
    contract = rng.integers(0, 3, n).astype(float)
    usage = rng.gamma(2, 10, n)
    age = rng.uniform(18, 80, n)
    late = rng.integers(0, 5, n).astype(float)
    satisfaction = rng.uniform(1, 5, n)
    x = np.column_stack([tenure, charges, calls, contract, usage, age, late, satisfaction])
    logit = -0.04 * tenure + 0.02 * charges + 0.5 * calls - 0.8 * contract + 0.4 * late - 0.6 * satisfaction
    y = np.where(logit + rng.logistic(size=n) > -0.5, "yes", "no")
    return x, y


def three_classes(n=300):
    x = rng.normal(size=(n, 5))
    score = x @ np.array([1.0, -2.0, 0.5, 1.5, -0.7]) + rng.normal(0, 0.5, n)
    return x, np.digitize(score, [-1.0, 1.0])


cases = []


def score_onnx(onx, feeds):
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    outputs = session.run(None, feeds)
    if len(names) == 1:
        return np.asarray(outputs[0], dtype=np.float64).ravel().tolist()
    probabilities = outputs[1]
    if isinstance(probabilities, list):  # ZipMap: a list of {label: probability}
        keys = list(probabilities[0].keys())
        probabilities = [[row[k] for k in keys] for row in probabilities]
    return np.asarray(probabilities, dtype=np.float64).tolist()


def add(name, model, x, y, classifier, options=None, columns=None, initial_types=None, score_x=None):
    model.fit(x, y)
    if score_x is not None:
        x = score_x
    if initial_types is None:
        x32 = np.asarray(x, dtype=np.float32)
        onx = to_onnx(model, x32[:1], options=options or {}, target_opset={"": 17, "ai.onnx.ml": 1})
        feeds = {onx.graph.input[0].name: x32}
        rows = [[None if np.isnan(v) else v for v in row] for row in x32.astype(np.float64).tolist()]
    else:
        onx = to_onnx(model, initial_types=initial_types, options=options or {},
                      target_opset={"": 17, "ai.onnx.ml": 1})
        feeds = {}
        kinds = {"integer": np.int64, "float": np.float32, "string": object}
        for (col, kind) in columns:
            feeds[col] = x[col].to_numpy().astype(kinds[kind]).reshape(-1, 1)
        rows = [[feeds[c][i, 0] if k == "string" else float(feeds[c][i, 0]) for (c, k) in columns]
                for i in range(len(x))]
    path = OUT / f"{name}.onnx"
    onnx.save(onx, str(path))
    if classifier:
        # float32 features, as ONNX sees them
        reference = model.predict_proba(x if columns else np.asarray(x, dtype=np.float32)).tolist()
        classes = [str(c) for c in model.classes_]
    else:
        reference = np.asarray(model.predict(x if columns else np.asarray(x, dtype=np.float32))).ravel().tolist()
        classes = None
    cases.append({
        "name": name,
        "file": str(path),
        "classifier": classifier,
        "rows": rows,
        "columns": columns,
        "classes": classes,
        "onnxruntime": score_onnx(onx, feeds),
        "sklearn": reference,
    })


def add_error(name, onx, expect):
    path = OUT / f"{name}.onnx"
    onnx.save(onx, str(path))
    cases.append({"name": name, "file": str(path), "error": expect})


house_x, house_y = house_prices()
churn_x, churn_y = churn()
tri_x, tri_y = three_classes()

add("linear_regression_house", LinearRegression(), house_x, house_y, False)
add("ridge_house", Ridge(alpha=3.0), house_x, house_y, False)
add("logistic_binary_churn", LogisticRegression(max_iter=2000), churn_x, churn_y, True)
add("logistic_multiclass", LogisticRegression(max_iter=2000), tri_x, tri_y, True, options={"zipmap": False})
add("scaler_logistic_pipeline", Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression())]),
    churn_x, churn_y, True)
add("scaler_mlp_pipeline",
    Pipeline([("scale", StandardScaler()), ("mlp", MLPClassifier(hidden_layer_sizes=(16,), max_iter=400, random_state=0))]),
    tri_x, tri_y, True)
add("random_forest_regressor_house", RandomForestRegressor(n_estimators=25, max_depth=6, random_state=0),
    house_x, house_y, False)
add("gradient_boosting_churn", GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=0),
    churn_x, churn_y, True)
add("gradient_boosting_multiclass", GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0),
    tri_x, tri_y, True)
add("decision_tree_multiclass", DecisionTreeClassifier(max_depth=5, random_state=0), tri_x, tri_y, True)

# Per-column inputs (float and int64) through a ColumnTransformer.
import pandas as pd  # noqa: E402

frame = pd.DataFrame({"tenure": churn_x[:, 0].astype(np.int64), "charges": churn_x[:, 1],
                      "calls": churn_x[:, 2].astype(np.int64), "satisfaction": churn_x[:, 7]})
columns = [("tenure", "integer"), ("charges", "float"), ("calls", "integer"), ("satisfaction", "float")]
per_column = Pipeline([
    ("prep", ColumnTransformer([("scale", StandardScaler(), ["charges", "satisfaction"]),
                                ("counts", StandardScaler(), ["tenure", "calls"])])),
    ("lr", LogisticRegression()),
])
add("per_column_inputs_churn", per_column, frame, churn_y, True, options={"zipmap": False},
    columns=columns,
    initial_types=[(c, Int64TensorType([None, 1]) if k == "integer" else FloatTensorType([None, 1]))
                   for (c, k) in columns])

# Per-column inputs, preprocessed by tract, feeding a tree ensemble evaluated natively.
from sklearn.ensemble import RandomForestClassifier  # noqa: E402

per_column_forest = Pipeline([
    ("prep", ColumnTransformer([("scale", StandardScaler(), ["charges", "satisfaction"]),
                                ("counts", "passthrough", ["tenure", "calls"])])),
    ("rf", RandomForestClassifier(n_estimators=15, max_depth=5, random_state=0)),
])
add("per_column_random_forest_churn", per_column_forest, frame, churn_y, True, columns=columns,
    initial_types=[(c, Int64TensorType([None, 1]) if k == "integer" else FloatTensorType([None, 1]))
                   for (c, k) in columns])

# String per-column input: OneHotEncoder lowered to CategoryMapper + Equal.
strings = pd.DataFrame({"plan": np.where(churn_x[:, 3] > 0, "premium", "basic"), "charges": churn_x[:, 1]})
string_model = Pipeline([
    ("prep", ColumnTransformer([("onehot", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
                                ("num", "passthrough", ["charges"])])),
    ("lr", LogisticRegression()),
])
unseen = strings.copy()
unseen.loc[::7, "plan"] = "gold"  # categories never seen in training: all-zero indicators
add("string_onehot_pipeline", string_model, strings, churn_y, True, options={"zipmap": False}, score_x=unseen,
    columns=[("plan", "string"), ("charges", "float")],
    initial_types=[("plan", StringTensorType([None, 1])), ("charges", FloatTensorType([None, 1]))])
# Refusals.
svc = SVC(probability=True, random_state=0).fit(tri_x, tri_y)
add_error("svc", to_onnx(svc, tri_x[:1].astype(np.float32), options={"zipmap": False},
                         target_opset={"": 17, "ai.onnx.ml": 1}), "SVMClassifier")
fancy = helper.make_model(
    helper.make_graph(
        [helper.make_node("FancyOp", ["X"], ["Y"], domain="com.example")],
        "fancy",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 1])],
    ),
    opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)],
)
add_error("unsupported_custom_op", fancy, "FancyOp")

json.dump(cases, sys.stdout)
