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


def list_filter_errors(client):
    """Where MLflow refuses `IN` lists: code, status and message must all match."""
    exp = client.create_experiment("peer-in-" + uuid.uuid4().hex[:8])
    client.log_param(client.create_run(exp).info.run_id, "x", "1")
    out = {}
    for text in [
        "params.x IN ('1','2')",
        "params.x NOT IN ('1', '2')",
        "tags.t IN ('a')",
        "attributes.status IN ('FINISHED')",
    ]:
        with pytest.raises(MlflowException) as caught:
            client.search_runs([exp], text)
        e = caught.value
        out[text] = (e.error_code, e.get_http_status_code(), e.message)
    out["run_id_in"] = len(client.search_runs([exp], "attributes.run_id IN ('a', 'b')"))
    with pytest.raises(MlflowException) as caught:
        client.search_model_versions("tags.t IN ('a')")
    out["version_tag_in"] = (caught.value.error_code, caught.value.message)
    return out


def run_outputs(client):
    """`log_outputs` then `get_run` and `search_runs`: which logged models a run produced, at
    which step."""
    from mlflow.entities import LoggedModelOutput

    exp = client.create_experiment("peer-out-" + uuid.uuid4().hex[:8])
    run_id = client.create_run(exp).info.run_id
    bare = client.create_run(exp).info.run_id
    model = client.create_logged_model(exp, source_run_id=run_id)
    client.log_outputs(run_id, [LoggedModelOutput(model.model_id, 2)])
    outputs = client.get_run(run_id).outputs.model_outputs
    searched = {r.info.run_id: r.outputs.model_outputs for r in client.search_runs([exp])}
    return {
        "outputs": [(o.model_id == model.model_id, o.step) for o in outputs],
        "none": [o.model_id for o in client.get_run(bare).outputs.model_outputs],
        "searched": [(o.model_id == model.model_id, o.step) for o in searched[run_id]],
        "searched_none": [o.model_id for o in searched[bare]],
    }


def logged_model_search(client):
    """Logged-model search on params, tags and metrics (logged with `model_id`), ordered by
    metrics (the latest point by timestamp; models without the metric last)."""
    exp = client.create_experiment("peer-lm-" + uuid.uuid4().hex[:8])
    run_id = client.create_run(exp).info.run_id
    names = {}
    for i, (lr, team, acc) in enumerate([("0.1", "a", 0.5), ("0.2", "b", 0.9), ("0.1", "b", None),
                                         ("0.3", "c", 0.7)]):
        model = client.create_logged_model(exp, name=f"m{i}", params={"lr": lr}, tags={"team": team})
        names[model.model_id] = f"m{i}"
        if acc is not None:
            client.log_metric(run_id, "acc", acc, step=0, model_id=model.model_id)
    # An older point at a later step: the ordering still uses the newest by timestamp.
    oldest = [m for m, n in names.items() if n == "m3"][0]
    client.log_metric(run_id, "acc", 0.1, step=5, timestamp=1, model_id=oldest)

    def found(filter_string=None, order_by=None):
        try:
            models = client.search_logged_models([exp], filter_string=filter_string, order_by=order_by)
        except MlflowException as e:
            return (e.error_code, e.get_http_status_code(), e.message)
        return [names[m.model_id] for m in models]

    metrics = client.get_logged_model(oldest).metrics
    return {
        "params": found("params.lr = '0.1'"),
        "params_like": found("params.lr LIKE '0.%' AND tags.team != 'a'"),
        "params_in": found("params.lr IN ('0.1', '0.3')"),
        "tags": found("tags.team = 'b'"),
        "metrics": found("metrics.acc > 0.6"),
        "metrics_and_params": found("metrics.acc >= 0.5 AND params.lr = '0.1'"),
        "order_desc": found(order_by=[{"field_name": "metrics.acc", "ascending": False}]),
        "order_asc": found(order_by=[{"field_name": "metrics.acc", "ascending": True}]),
        "order_param": found(order_by=[{"field_name": "params.lr", "ascending": True}]),
        "metric_points": sorted((m.key, m.value, m.step, m.run_id == run_id) for m in metrics),
    }


def test_logged_model_search_matches_mlflow(client, peer):
    assert logged_model_search(client) == logged_model_search(peer)


def test_run_outputs_match_mlflow(client, peer):
    assert run_outputs(client) == run_outputs(peer)


def test_list_filters_match_mlflow(client, peer):
    assert list_filter_errors(client) == list_filter_errors(peer)


def test_search_semantics_match_mlflow(client, peer):
    assert run_scenario(client) == run_scenario(peer)


def test_error_codes_match_mlflow(client, peer):
    assert errors(client) == errors(peer)
