"""Side-by-side checks against a real `mlflow server` where behaviour is subtle: search
ordering (nulls, ties, defaults), pagination, tag inequality and LIKE case, and error codes.
Each scenario runs on both servers and must give the same answer."""

import uuid

import pytest
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException


def run_scenario(client):
    prefix = "peer-" + uuid.uuid4().hex[:8]
    exp = client.create_experiment(prefix)
    names = {}
    for i, (acc, team) in enumerate(
        [(0.5, "Fraud"), (0.9, None), (None, "risk"), (0.5, "fraud"), (0.1, "Fraud"),
         (float("nan"), "risk"), (None, None)]
    ):
        run = client.create_run(exp, run_name=f"r{i}", start_time=1_000 + i)
        rid = run.info.run_id
        names[rid] = f"r{i}"
        client.log_batch(
            rid,
            metrics=[Metric("acc", acc, 0, 0)] if acc is not None else [],
            params=[Param("i", str(i))],
            tags=[RunTag("team", team)] if team else [],
        )

    def order(filter_string="", order_by=None, max_results=1000):
        return [
            names[r.info.run_id]
            for r in client.search_runs([exp], filter_string, order_by=order_by, max_results=max_results)
        ]

    def pages_of(order_by):
        pages, token = [], None
        while True:
            page = client.search_runs([exp], "", order_by=order_by, max_results=2, page_token=token)
            pages.append([names[r.info.run_id] for r in page])
            token = page.token
            if not token:
                return pages
    experiments = [
        e.name for e in client.search_experiments(filter_string=f"name LIKE '{prefix}%'")
    ]
    return {
        "default": order(),
        "acc_desc": order(order_by=["metrics.acc DESC"]),
        "acc_asc": order(order_by=["metrics.acc ASC"]),
        "tag_ne": order("tags.team != 'Fraud'"),
        "like": order("tags.team LIKE 'F%'"),
        "ilike": order("tags.team ILIKE 'f%'"),
        "name_order": order(order_by=["attributes.run_name DESC"]),
        "limit": order(max_results=3),
        "pages": pages_of(["params.i DESC"]),
        "metric_pages": pages_of(["metrics.acc DESC"]),
        "metric_pages_asc": pages_of(["metrics.acc ASC", "params.i DESC"]),
        "experiments": [e.replace(prefix, "P") for e in experiments],
    }


def error_of(call):
    with pytest.raises(MlflowException) as caught:
        call()
    return caught.value.error_code, caught.value.get_http_status_code()


def errors(client):
    prefix = "peer-err-" + uuid.uuid4().hex[:8]
    exp = client.create_experiment(prefix)
    run_id = client.create_run(exp).info.run_id
    client.log_param(run_id, "p", "1")
    client.create_registered_model(prefix)
    return {
        "missing_experiment": error_of(lambda: client.get_experiment("123456789")),
        "duplicate_experiment": error_of(lambda: client.create_experiment(prefix)),
        "missing_run": error_of(lambda: client.get_run("f" * 32)),
        "param_change": error_of(lambda: client.log_param(run_id, "p", "2")),
        "bad_filter": error_of(lambda: client.search_runs([exp], "metrics.a >")),
        "or_filter": error_of(lambda: client.search_runs([exp], "params.a = '1' OR params.b = '2'")),
        "missing_model": error_of(lambda: client.get_registered_model(prefix + "-absent")),
        "duplicate_model": error_of(lambda: client.create_registered_model(prefix)),
        "missing_version": error_of(lambda: client.get_model_version(prefix, "7")),
        "missing_tag": error_of(lambda: client.delete_tag(run_id, "never-set")),
    }


def test_search_semantics_match_mlflow(client, peer):
    assert run_scenario(client) == run_scenario(peer)


def test_error_codes_match_mlflow(client, peer):
    assert errors(client) == errors(peer)
