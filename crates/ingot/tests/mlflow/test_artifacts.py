"""Proxied artifacts through /api/2.0/mlflow-artifacts: single files, directories, listing,
download bytes, multipart upload, and path-traversal refusal."""

import hashlib
import os

import mlflow
import pytest
import requests
from mlflow.exceptions import MlflowException


def test_log_list_download(client, name, tmp_path):
    exp = client.create_experiment(name)
    run_id = client.create_run(exp).info.run_id
    (tmp_path / "a.txt").write_text("alpha")
    sub = tmp_path / "dir"
    (sub / "nested").mkdir(parents=True)
    (sub / "b.bin").write_bytes(bytes(range(256)) * 40)
    (sub / "nested" / "c.txt").write_text("gamma")
    client.log_artifact(run_id, str(tmp_path / "a.txt"))
    client.log_artifacts(run_id, str(sub), artifact_path="data")
    top = client.list_artifacts(run_id)
    assert [(f.path, f.is_dir, f.file_size) for f in top] == [
        ("a.txt", False, 5), ("data", True, None)
    ]
    inner = client.list_artifacts(run_id, "data")
    assert [(f.path, f.is_dir) for f in inner] == [("data/b.bin", False), ("data/nested", True)]
    out = tmp_path / "out"
    out.mkdir()
    local = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="data", dst_path=str(out), tracking_uri=client._tracking_client.tracking_uri
    )
    assert open(os.path.join(local, "b.bin"), "rb").read() == bytes(range(256)) * 40
    assert open(os.path.join(local, "nested", "c.txt")).read() == "gamma"
    single = client.download_artifacts(run_id, "a.txt", str(out))
    assert open(single).read() == "alpha"


def test_multipart_upload(client, name, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(1024 * 1024))
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(5 * 1024 * 1024))
    exp = client.create_experiment(name)
    run_id = client.create_run(exp).info.run_id
    payload = os.urandom(12 * 1024 * 1024 + 7)
    big = tmp_path / "big.bin"
    big.write_bytes(payload)
    client.log_artifact(run_id, str(big), artifact_path="large")
    listing = client.list_artifacts(run_id, "large")
    assert [(f.path, f.file_size) for f in listing] == [("large/big.bin", len(payload))]
    local = client.download_artifacts(run_id, "large/big.bin", str(tmp_path))
    digest = hashlib.sha256(open(local, "rb").read()).hexdigest()
    assert digest == hashlib.sha256(payload).hexdigest()


def test_traversal_and_unauthenticated_requests_are_refused(ingot_uri):
    token = os.environ["MLFLOW_TRACKING_TOKEN"]
    auth = {"Authorization": f"Bearer {token}"}
    base = f"{ingot_uri}/api/2.0/mlflow-artifacts/artifacts"
    evil = requests.put(f"{base}/1/%2E%2E/%2E%2E/etc/passwd", data=b"x", headers=auth, timeout=10)
    assert evil.status_code == 400
    assert evil.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    anonymous = requests.get(f"{base}?path=1", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["error_code"] == "UNAUTHENTICATED"
    missing = requests.get(f"{base}/1/nothing/here.txt", headers=auth, timeout=10)
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    forged = requests.put(
        f"{ingot_uri}/api/2.0/mlflow-artifacts/mpu/part/{'0' * 32}/1", data=b"x", timeout=10
    )
    assert forged.status_code == 404
