"""Runs and logging: create, get, update, delete, restore, search with MLflow's filter
grammar, log-metric/param/tag/batch with MLflow's limits and write-once params, metric
histories and dataset inputs."""

import os
import time

import mlflow
import pytest
import requests
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException


@pytest.fixture
def exp(client, name):
    return client.create_experiment(name)


def test_run_lifecycle(client, exp):
    run = client.create_run(exp, run_name="first", tags={"k": "v"})
    info = run.info
    assert (info.run_name, info.status, info.lifecycle_stage) == ("first", "RUNNING", "active")
    assert info.artifact_uri == f"mlflow-artifacts:/{exp}/{info.run_id}/artifacts"
    fetched = client.get_run(info.run_id)
    assert fetched.data.tags["k"] == "v"
    assert fetched.data.tags["mlflow.runName"] == "first"
    client.update_run(info.run_id, status="FINISHED", name="renamed")
    fetched = client.get_run(info.run_id)
    assert (fetched.info.status, fetched.info.run_name) == ("FINISHED", "renamed")
    assert fetched.info.end_time is None  # update_run keeps end_time, as in MLflow
    client.set_terminated(info.run_id, "KILLED", end_time=123456)
    fetched = client.get_run(info.run_id)
    assert (fetched.info.status, fetched.info.end_time) == ("KILLED", 123456)
    client.delete_run(info.run_id)
    assert client.get_run(info.run_id).info.lifecycle_stage == "deleted"
    assert client.search_runs([exp]) == []
    assert len(client.search_runs([exp], run_view_type=ViewType.DELETED_ONLY)) == 1
    client.restore_run(info.run_id)
    assert client.get_run(info.run_id).info.lifecycle_stage == "active"
    with pytest.raises(MlflowException) as missing:
        client.get_run("0" * 32)
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_logging_and_metric_history(client, exp):
    run_id = client.create_run(exp).info.run_id
    client.log_param(run_id, "lr", 0.1)
    client.log_param(run_id, "lr", 0.1)  # the same value again is allowed
    with pytest.raises(MlflowException) as changed:
        client.log_param(run_id, "lr", 0.2)
    assert changed.value.error_code == "INVALID_PARAMETER_VALUE"
    for step, value in enumerate([0.9, 0.6, 0.4]):
        client.log_metric(run_id, "loss", value, step=step, timestamp=1000 + step)
    client.log_metric(run_id, "nan", float("nan"))
    client.set_tag(run_id, "note", "hello")
    client.set_tag(run_id, "gone", "x")
    client.delete_tag(run_id, "gone")
    data = client.get_run(run_id).data
    assert data.params == {"lr": "0.1"}
    assert data.metrics["loss"] == 0.4
    assert data.metrics["nan"] != data.metrics["nan"]
    assert data.tags["note"] == "hello" and "gone" not in data.tags
    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value, m.timestamp) for m in history] == [
        (0, 0.9, 1000), (1, 0.6, 1001), (2, 0.4, 1002)
    ]


def rest(endpoint, body):
    uri = os.environ["MLFLOW_TRACKING_URI"]
    token = os.environ["MLFLOW_TRACKING_TOKEN"]
    return requests.post(
        f"{uri}/api/2.0/mlflow/{endpoint}", json=body,
        headers={"Authorization": f"Bearer {token}"}, timeout=30,
    )


def test_log_batch_semantics_and_limits(client, exp):
    run_id = client.create_run(exp).info.run_id
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric("m", float(i), now + i, i) for i in range(10)],
        params=[Param(f"p{i}", str(i)) for i in range(20)],
        tags=[RunTag("t", "1")],
    )
    client.log_batch(run_id, metrics=[Metric("m", -1.0, now, 3)], tags=[RunTag("t", "2")])
    data = client.get_run(run_id).data
    assert len(data.params) == 20
    assert data.metrics["m"] == 9.0  # the latest is the highest step, not the last logged
    assert data.tags["t"] == "2"
    assert len(client.get_metric_history(run_id, "m")) == 11
    # The client splits large batches itself, so the server's limits are checked over REST.
    too_many = rest("runs/log-batch", {
        "run_id": run_id,
        "metrics": [{"key": "x", "value": 1, "timestamp": now, "step": i} for i in range(1001)],
    })
    assert too_many.status_code == 400
    assert too_many.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    too_many_params = rest("runs/log-batch", {
        "run_id": run_id, "params": [{"key": f"q{i}", "value": "v"} for i in range(101)],
    })
    assert too_many_params.status_code == 400
    long_value = rest("runs/log-batch", {
        "run_id": run_id, "params": [{"key": "long", "value": "v" * 6001}],
    })
    assert long_value.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException):
        client.log_batch(run_id, params=[Param("p1", "changed")])
    # A rejected batch changes nothing (one transaction).
    with pytest.raises(MlflowException):
        client.log_batch(run_id, metrics=[Metric("new", 1.0, now, 0)], params=[Param("p2", "x")])
    assert "new" not in client.get_run(run_id).data.metrics


def test_search_runs_grammar(client, exp):
    ids = []
    for i in range(6):
        run = client.create_run(exp, run_name=f"run-{i}", start_time=1000 + i)
        rid = run.info.run_id
        ids.append(rid)
        client.log_batch(
            rid,
            metrics=[Metric("acc", i / 10, 0, 0)],
            params=[Param("model", "tree" if i % 2 else "linear")],
            tags=[RunTag("team", "Fraud" if i < 3 else "risk")],
        )
        client.set_terminated(rid, status="FINISHED" if i != 5 else "FAILED")

    def search(flt, order=None, **kw):
        return [r.info.run_id for r in client.search_runs([exp], flt, order_by=order, **kw)]

    assert search("") == list(reversed(ids))  # newest first
    assert search("metrics.acc > 0.25", ["metrics.acc ASC"]) == ids[3:]
    assert search("metrics.acc >= 0.2 AND params.model = 'tree'") == [ids[5], ids[3]]
    assert search("params.model != 'tree'", ["attributes.start_time ASC"]) == ids[0::2]
    assert set(search("tags.team LIKE 'F%'")) == set(ids[:3])
    assert set(search("tags.team ILIKE 'f%'")) == set(ids[:3])
    assert search("tags.team LIKE 'f%'") == []
    assert search("attributes.status = 'FAILED'") == [ids[5]]
    assert set(search(f"attributes.run_id IN ('{ids[1]}', '{ids[2]}')")) == {ids[1], ids[2]}
    assert search("attributes.run_name = 'run-4'") == [ids[4]]
    assert search("metrics.acc < 0.15", ["metrics.acc DESC"]) == [ids[1], ids[0]]
    # A filter value that tries SQL is only a value.
    assert search("params.model = 'x'' OR ''1''=''1'") == []
    pages, token = [], None
    while True:
        page = client.search_runs([exp], max_results=4, page_token=token, order_by=["metrics.acc DESC"])
        pages.append([r.info.run_id for r in page])
        token = page.token
        if not token:
            break
    assert pages == [list(reversed(ids))[:4], list(reversed(ids))[4:]]
    with pytest.raises(MlflowException) as bad:
        client.search_runs([exp], "metrics.acc > 'high'")
    assert bad.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException):
        client.search_runs([exp], "attributes.nonsense = 'x'")


def test_fluent_api_and_dataset_inputs(ingot_uri, name):
    import pandas as pd

    mlflow.set_tracking_uri(ingot_uri)
    mlflow.set_experiment(name)
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(frame, name="toy", targets="y")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")
        mlflow.log_params({"a": 1, "b": "two"})
        mlflow.log_metrics({"x": 1.5, "y": 2.5}, step=3)
    fetched = mlflow.get_run(run.info.run_id)
    assert fetched.info.status == "FINISHED"
    assert fetched.data.params == {"a": "1", "b": "two"}
    inputs = fetched.inputs.dataset_inputs
    assert [(d.dataset.name, d.dataset.digest) for d in inputs] == [("toy", dataset.digest)]
    assert {t.key: t.value for t in inputs[0].tags}["mlflow.data.context"] == "training"
    found = mlflow.search_runs(
        experiment_names=[name], filter_string="dataset.name = 'toy'", output_format="list"
    )
    assert [r.info.run_id for r in found] == [run.info.run_id]


def test_page_tokens_are_keyset_cursors(client, ingot_uri, exp):
    auth = {"Authorization": f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}"}
    url = f"{ingot_uri}/api/2.0/mlflow/runs/search"
    for i in range(5):
        run = client.create_run(exp, start_time=1000 + i)
        client.log_metric(run.info.run_id, "m", i % 2)
    first = client.search_runs([exp], max_results=2)
    seen = [r.info.run_id for r in first]
    # A run that sorts first arrives between pages: the next page still continues after the
    # last run shown instead of repeating it.
    client.create_run(exp, start_time=5000)
    second = client.search_runs([exp], max_results=2, page_token=first.token)
    assert not set(seen) & {r.info.run_id for r in second}
    # A token only fits the query it came from, and garbage is a 400 with MLflow's shape.
    for body in (
        {"experiment_ids": [exp], "max_results": 2, "page_token": first.token,
         "order_by": ["metrics.m DESC"]},
        {"experiment_ids": [exp], "max_results": 2, "page_token": first.token,
         "filter": "metrics.m > 0"},
        {"experiment_ids": [exp], "page_token": "not a token"},
        {"experiment_ids": [exp], "page_token": "eyJxIjpbXX0"},
        {"experiment_ids": [exp], "page_token": "offset:2"},
    ):
        response = requests.post(url, json=body, headers=auth, timeout=10)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert "page_token" in response.json()["message"]
