"""The model registry: registered models, versions, stages, tags, aliases, download URIs,
search and errors."""

import mlflow
import pytest
from mlflow.exceptions import MlflowException


def test_registered_model_crud(client, name):
    created = client.create_registered_model(name, tags={"owner": "risk"}, description="first")
    assert (created.name, created.description, created.tags) == (name, "first", {"owner": "risk"})
    with pytest.raises(MlflowException) as dup:
        client.create_registered_model(name)
    assert dup.value.error_code == "RESOURCE_ALREADY_EXISTS"
    client.update_registered_model(name, description="second")
    assert client.get_registered_model(name).description == "second"
    client.set_registered_model_tag(name, "tier", "gold")
    client.delete_registered_model_tag(name, "owner")
    assert client.get_registered_model(name).tags == {"tier": "gold"}
    client.rename_registered_model(name, name + "-b")
    assert client.get_registered_model(name + "-b").name == name + "-b"
    with pytest.raises(MlflowException) as gone:
        client.get_registered_model(name)
    assert gone.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    client.delete_registered_model(name + "-b")
    assert client.search_registered_models(f"name = '{name}-b'") == []


def test_versions_stages_tags_aliases(client, name):
    exp = client.create_experiment(name)
    run_id = client.create_run(exp).info.run_id
    client.create_registered_model(name)
    v1 = client.create_model_version(name, f"runs:/{run_id}/model", run_id, tags={"a": "1"})
    v2 = client.create_model_version(name, f"runs:/{run_id}/model2", run_id, description="two")
    assert (v1.version, v2.version, v1.status, v1.current_stage) == ("1", "2", "READY", "None")
    assert client.get_model_version(name, "2").description == "two"
    client.update_model_version(name, "2", description="TWO")
    assert client.get_model_version(name, "2").description == "TWO"
    client.transition_model_version_stage(name, "1", "Production")
    moved = client.transition_model_version_stage(
        name, "2", "production", archive_existing_versions=True
    )
    assert moved.current_stage == "Production"
    assert client.get_model_version(name, "1").current_stage == "Archived"
    latest = client.get_latest_versions(name, stages=["Production"])
    assert [v.version for v in latest] == ["2"]
    client.set_model_version_tag(name, "1", "validated", "yes")
    client.delete_model_version_tag(name, "1", "a")
    assert client.get_model_version(name, "1").tags == {"validated": "yes"}
    client.set_registered_model_alias(name, "champion", "1")
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    assert client.get_registered_model(name).aliases == {"champion": "1"}
    assert client.get_model_version(name, "1").aliases == ["champion"]
    client.set_registered_model_alias(name, "champion", "2")
    assert client.get_model_version_by_alias(name, "champion").version == "2"
    client.delete_registered_model_alias(name, "champion")
    with pytest.raises(MlflowException):
        client.get_model_version_by_alias(name, "champion")
    uri = client.get_model_version_download_uri(name, "2")
    assert uri == f"mlflow-artifacts:/{exp}/{run_id}/artifacts/model2"
    found = client.search_model_versions(f"name = '{name}' AND tags.validated = 'yes'")
    assert [v.version for v in found] == ["1"]
    by_run = client.search_model_versions(f"run_id = '{run_id}'", order_by=["version_number ASC"])
    assert [v.version for v in by_run] == ["1", "2"]
    client.delete_model_version(name, "1")
    with pytest.raises(MlflowException) as missing:
        client.get_model_version(name, "1")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as bad_stage:
        client.transition_model_version_stage(name, "2", "Shipped")
    assert bad_stage.value.error_code == "INVALID_PARAMETER_VALUE"


def test_search_registered_models_pages(client, name):
    for i in range(5):
        client.create_registered_model(f"{name}-{i}", tags={"even": str(i % 2 == 0)})
    seen, token = [], None
    while True:
        page = client.search_registered_models(
            f"name LIKE '{name}-%'", max_results=2, page_token=token
        )
        seen += [m.name for m in page]
        token = page.token
        if not token:
            break
    assert seen == [f"{name}-{i}" for i in range(5)]
    even = client.search_registered_models(f"name LIKE '{name}-%' AND tags.even = 'True'")
    assert [m.name for m in even] == [f"{name}-0", f"{name}-2", f"{name}-4"]
