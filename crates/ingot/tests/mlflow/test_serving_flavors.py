"""Models logged through MLflow deploy as they are: a version registered with the xgboost
(UBJSON, MLflow's default), lightgbm or onnx flavor becomes servable under its own number at its
first deploy, and the endpoint answers what the library itself predicts. A flavor Ingot cannot
run natively is refused with a message that names it."""

import io
import os
import time

import mlflow
import numpy as np
import pandas as pd
import pytest
import requests
from mlflow.models import infer_signature

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")
skl2onnx = pytest.importorskip("skl2onnx")
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from skl2onnx.common.data_types import FloatTensorType  # noqa: E402

FEATURES = [f"f{i}" for i in range(6)]


def call(ingot_uri, method, path, **kwargs):
    headers = {"Authorization": f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}"}
    headers.update(kwargs.pop("headers", {}))
    return requests.request(method, f"{ingot_uri}{path}", headers=headers, timeout=60, **kwargs)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=600, n_features=len(FEATURES), random_state=3)
    frame = pd.DataFrame(X, columns=FEATURES)
    return frame.iloc[:500], y[:500], frame.iloc[500:]


def deploy_and_score(ingot_uri, endpoint, model, test):
    """Deploys the latest version of `model` and returns the positive-class probabilities."""
    reply = call(ingot_uri, "POST", "/api/v1/endpoints", json={"name": endpoint, "model": model})
    assert reply.status_code == 201, reply.text
    deadline = time.time() + 60
    while True:
        status = call(ingot_uri, "GET", f"/api/v1/endpoints/{endpoint}").json()["status"]
        if status == "InService":
            break
        assert status != "Failed" and time.time() < deadline, status
        time.sleep(0.1)
    reply = call(
        ingot_uri, "POST", f"/endpoints/{endpoint}/invocations",
        data=test.to_csv(index=False),
        headers={"Content-Type": "text/csv; header=present", "Accept": "text/csv"},
    )
    assert reply.status_code == 200, reply.text
    return pd.read_csv(io.StringIO(reply.text))["1"].to_numpy()


def assert_close(ours, theirs):
    """1e-6 relative, absolute below 1: the rule of the other parity tests (serving_peers.rs)."""
    theirs = np.asarray(theirs, dtype=np.float64)
    bound = 1e-6 * np.maximum(np.abs(theirs), 1.0)
    assert len(ours) == len(theirs) and np.all(np.abs(ours - theirs) <= bound), (ours, theirs)


def test_xgboost_ubjson_lightgbm_and_onnx_flavors_deploy_and_agree(ingot_uri, name, data):
    train, y, test = data
    mlflow.set_experiment(name)

    booster = xgb.XGBClassifier(n_estimators=40, max_depth=4, random_state=0).fit(train, y)
    with mlflow.start_run():
        info = mlflow.xgboost.log_model(
            booster, name="model", registered_model_name=f"{name}-xgb",
            signature=infer_signature(train, booster.predict_proba(train)),
        )
    assert info.flavors["xgboost"]["data"].endswith(".ubj")
    scored = deploy_and_score(ingot_uri, f"{name}-xgb-ep", f"{name}-xgb", test)
    assert_close(scored, booster.predict_proba(test)[:, 1])

    gbm = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 15},
                    lgb.Dataset(train, y), num_boost_round=30)
    with mlflow.start_run():
        mlflow.lightgbm.log_model(gbm, name="model", registered_model_name=f"{name}-lgb")
    scored = deploy_and_score(ingot_uri, f"{name}-lgb-ep", f"{name}-lgb", test)
    assert_close(scored, gbm.predict(test))

    logistic = LogisticRegression(max_iter=500).fit(train, y)
    onnx_model = skl2onnx.convert_sklearn(
        logistic, initial_types=[("float_input", FloatTensorType([None, len(FEATURES)]))],
        options={id(logistic): {"zipmap": False}},
    )
    with mlflow.start_run():
        mlflow.onnx.log_model(onnx_model, name="model", registered_model_name=f"{name}-onnx")
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = session.run(None, {"float_input": test.to_numpy(np.float32)})[1][:, 1]
    scored = deploy_and_score(ingot_uri, f"{name}-onnx-ep", f"{name}-onnx", test)
    assert_close(scored, expected)

    # The version keeps its MLflow number and record, now with an Ingot model file.
    version = call(ingot_uri, "GET", f"/api/v1/models/{name}-xgb/versions/1").json()
    assert version["algorithm"] == "xgboost" and version["artifact_hash"], version
    assert version["registry"]["source"] == f"models:/{info.model_id}"
    # A second endpoint on the same version reuses it.
    again = call(ingot_uri, "POST", "/api/v1/endpoints",
                 json={"name": f"{name}-xgb-ep2", "model": f"{name}-xgb", "version": 1})
    assert again.status_code == 201, again.text


def test_a_flavor_without_a_native_runtime_is_refused_by_name(ingot_uri, name, data):
    train, y, _ = data
    mlflow.set_experiment(name)
    with mlflow.start_run():
        mlflow.sklearn.log_model(LogisticRegression(max_iter=500).fit(train, y), name="model",
                                 registered_model_name=name)
    reply = call(ingot_uri, "POST", "/api/v1/endpoints", json={"name": f"{name}-ep", "model": name})
    assert reply.status_code == 400, reply.text
    message = reply.json()["error"]["message"]
    assert f"cannot serve {name}:1, registered through MLflow" in message, message
    assert "sklearn" in message and "mlflow.onnx.log_model" in message, message


def test_a_transform_of_an_mlflow_model_takes_its_newest_version(ingot_uri, name, data):
    train, y, test = data
    mlflow.set_experiment(name)
    gbm = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(train, y), num_boost_round=10)
    with mlflow.start_run():
        mlflow.lightgbm.log_model(gbm, name="model", registered_model_name=name)
    reply = call(ingot_uri, "POST", f"/api/v1/datasets/{name}-rows/versions", params={"format": "csv"},
                 data=test.to_csv(index=False).encode(),
                 headers={"Content-Type": "application/octet-stream"})
    assert reply.status_code == 201, reply.text
    # No version given: the newest of either registry, here the one MLflow registered.
    reply = call(ingot_uri, "POST", "/api/v1/transform-jobs",
                 json={"model": name, "dataset": f"{name}-rows", "output_dataset": f"{name}-scored"})
    assert reply.status_code == 201, reply.text
    job = reply.json()
    assert job["model_version"] == 1, job
    deadline = time.time() + 60
    while job["status"] not in ("Completed", "Failed", "Stopped"):
        assert time.time() < deadline, job
        time.sleep(0.1)
        job = call(ingot_uri, "GET", f"/api/v1/transform-jobs/{job['id']}").json()
    assert job["status"] == "Completed" and job["rows"] == len(test), job
