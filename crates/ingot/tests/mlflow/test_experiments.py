"""Experiments: create, get, get-by-name, search (filter, order, pagination), update, delete,
restore, tags, and the errors the client sees."""

import pytest
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException


def test_create_get_and_get_by_name(client, name):
    exp_id = client.create_experiment(name, tags={"team": "fraud"})
    assert exp_id.isdigit()
    exp = client.get_experiment(exp_id)
    assert (exp.name, exp.lifecycle_stage, exp.tags["team"]) == (name, "active", "fraud")
    assert exp.artifact_location == f"mlflow-artifacts:/{exp_id}"
    assert client.get_experiment_by_name(name).experiment_id == exp_id
    assert client.get_experiment_by_name(name + "-absent") is None


def test_errors_read_like_mlflow(client, name):
    client.create_experiment(name)
    with pytest.raises(MlflowException) as dup:
        client.create_experiment(name)
    assert dup.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(MlflowException) as missing:
        client.get_experiment("987654321")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert missing.value.get_http_status_code() == 404


def test_update_delete_restore(client, name):
    exp_id = client.create_experiment(name)
    client.rename_experiment(exp_id, name + "-renamed")
    assert client.get_experiment(exp_id).name == name + "-renamed"
    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    active = [e.name for e in client.search_experiments(filter_string=f"name LIKE '{name}%'")]
    assert active == []
    deleted = client.search_experiments(
        view_type=ViewType.DELETED_ONLY, filter_string=f"name = '{name}-renamed'"
    )
    assert [e.experiment_id for e in deleted] == [exp_id]
    client.restore_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "active"


def test_experiment_tags(client, name):
    exp_id = client.create_experiment(name)
    client.set_experiment_tag(exp_id, "stage", "dev")
    assert client.get_experiment(exp_id).tags == {"stage": "dev"}
    client.delete_experiment_tag(exp_id, "stage")
    assert client.get_experiment(exp_id).tags == {}


def test_search_filter_order_and_pages(client, name):
    ids = [client.create_experiment(f"{name}-{i}", tags={"i": str(i)}) for i in range(5)]
    found = client.search_experiments(
        filter_string=f"name LIKE '{name}-%'", order_by=["name DESC"]
    )
    assert [e.name for e in found] == [f"{name}-{i}" for i in reversed(range(5))]
    tagged = client.search_experiments(filter_string=f"name LIKE '{name}-%' AND tags.i = '3'")
    assert [e.experiment_id for e in tagged] == [ids[3]]
    insensitive = client.search_experiments(filter_string=f"name ILIKE '{name.upper()}-%'")
    assert len(insensitive) == 5
    seen = []
    token = None
    while True:
        page = client.search_experiments(
            filter_string=f"name LIKE '{name}-%'",
            order_by=["name ASC"],
            max_results=2,
            page_token=token,
        )
        seen += [e.name for e in page]
        token = page.token
        if not token:
            break
    assert seen == [f"{name}-{i}" for i in range(5)]


def test_invalid_filter_is_invalid_parameter_value(client):
    with pytest.raises(MlflowException) as bad:
        client.search_experiments(filter_string="name = 'a' OR name = 'b'")
    assert bad.value.error_code == "INVALID_PARAMETER_VALUE"
