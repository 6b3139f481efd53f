"""One registry seen from both sides with the official client: a scikit-learn model logged and
registered through MLflow (with `log_input`) is an Ingot model with lineage and approval; a
model trained by Ingot is an MLflow model version with lineage tags; run outputs round-trip
like on a real `mlflow server`."""

import os
import time

import mlflow
import pandas as pd
import pytest
import requests
from mlflow.entities import LoggedModelOutput
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LinearRegression


def native(ingot_uri, method, path, **kwargs):
    headers = {"Authorization": f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}"}
    reply = requests.request(method, f"{ingot_uri}/api/v1{path}", headers=headers, timeout=30, **kwargs)
    assert reply.status_code < 300, reply.text
    return reply.json()


def test_mlflow_logged_model_is_native_with_lineage_and_approval(client, name, ingot_uri):
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [2.0, 4.1, 5.9, 8.0]})
    mlflow.set_experiment(name)
    with mlflow.start_run() as run:
        mlflow.log_input(mlflow.data.from_pandas(frame, name="toy", targets="y"), context="training")
        mlflow.log_metric("r2", 0.5)
        mlflow.log_metric("r2", 0.75, step=1)
        model = LinearRegression().fit(frame[["x"]], frame.y)
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name=name)
    run_id = run.info.run_id
    assert str(info.registered_model_version) == "1"

    # Run outputs: the logged model, as the real server reports it.
    outputs = client.get_run(run_id).outputs.model_outputs
    assert [(o.model_id, o.step) for o in outputs] == [(info.model_id, 0)]

    models = {m["name"]: m for m in native(ingot_uri, "GET", "/models")}
    assert models[name]["origin"] == "mlflow"
    version = native(ingot_uri, "GET", f"/models/{name}/versions/1")
    assert version["origin"] == "mlflow"
    assert version["registry"]["source"] == f"models:/{info.model_id}"
    assert version["registry"]["run_id"] == run_id
    assert version["registry"]["approval_status"] == "PendingManualApproval"
    lineage = version["lineage"]
    assert lineage["run_id"] == run_id
    assert lineage["metrics"] == {"r2": 0.75}
    [toy] = lineage["input_datasets"]
    dataset = client.get_run(run_id).inputs.dataset_inputs[0].dataset
    assert (toy["name"], toy["digest"], toy["context"]) == ("toy", dataset.digest, "training")

    # The lineage and, once decided, the approval are model-version tags for MLflow clients.
    tags = client.get_model_version(name, "1").tags
    assert tags["ingot.metric.r2"] == "0.75"
    assert "ingot.approval_status" not in tags
    native(ingot_uri, "POST", f"/registry/models/{name}/versions/1/approval", json={"approve": True})
    assert client.get_model_version(name, "1").tags["ingot.approval_status"] == "Approved"
    approved = client.search_model_versions(
        f"name = '{name}' AND tags.`ingot.approval_status` = 'Approved'"
    )
    assert [v.version for v in approved] == ["1"]
    with pytest.raises(MlflowException) as reserved:
        client.set_model_version_tag(name, "1", "ingot.approval_status", "Rejected")
    assert reserved.value.error_code == "INVALID_PARAMETER_VALUE"


def test_ingot_trained_model_is_an_mlflow_version_with_lineage(client, name, ingot_uri):
    csv = "x,y\n" + "".join(f"{i % 7},{int(i % 7 > 3)}\n" for i in range(60))
    headers = {"Authorization": f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}"}
    uploaded = requests.post(
        f"{ingot_uri}/api/v1/datasets/{name}/versions?format=csv", data=csv, headers=headers, timeout=30
    )
    assert uploaded.status_code < 300, uploaded.text
    job = native(ingot_uri, "POST", "/training-jobs",
                 json={"dataset": name, "target": "y", "algorithm": "linear-learner"})
    for _ in range(600):
        job = native(ingot_uri, "GET", f"/training-jobs/{job['id']}")
        if job["status"] in ("Completed", "Failed", "Stopped"):
            break
        time.sleep(0.1)
    assert job["status"] == "Completed", job

    [version] = client.search_model_versions(f"name = '{name}'")
    assert version.version == "1"
    assert version.run_id == job["id"]
    assert version.tags["ingot.model_version"] == "1"
    assert version.tags["ingot.dataset"] == f"{name}:1"
    assert version.tags["ingot.job_id"] == job["id"]
    accuracy = job["metrics"]["accuracy"]
    assert float(version.tags["ingot.metric.accuracy"]) == accuracy
    assert client.get_run(job["id"]).data.metrics["final_accuracy"] == accuracy
