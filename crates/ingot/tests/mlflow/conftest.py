"""Fixtures for the MLflow conformance suite.

The Rust driver (crates/ingot/tests/mlflow.rs) starts `ingot server` and exports
MLFLOW_TRACKING_URI and MLFLOW_TRACKING_TOKEN; every test talks to it with the unmodified
`mlflow` client. The `peer_uri` fixture starts a real `mlflow server` (SQLite backend, proxied
artifacts) once per session so subtle behaviours can be compared side by side.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import pytest
import requests
from mlflow import MlflowClient


@pytest.fixture(scope="session")
def ingot_uri():
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    assert uri.startswith("http://"), "MLFLOW_TRACKING_URI must point at the ingot server"
    return uri


@pytest.fixture(scope="session")
def client(ingot_uri):
    return MlflowClient(tracking_uri=ingot_uri, registry_uri=ingot_uri)


@pytest.fixture
def name():
    """A unique name per test, so tests never see each other's records."""
    return "t-" + uuid.uuid4().hex[:10]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def peer_uri():
    """A real `mlflow server` on a free port, for side-by-side comparisons."""
    work = tempfile.mkdtemp(prefix="mlflow-peer-")
    port = _free_port()
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    log = open(os.path.join(work, "server.log"), "w")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", f"sqlite:///{work}/mlflow.db",
            "--artifacts-destination", f"{work}/artifacts",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        ],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            if requests.get(uri + "/health", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.time() > deadline:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            log.close()
            raise RuntimeError("mlflow server did not start:\n" + open(log.name).read()[-4000:])
        time.sleep(0.5)
    yield uri
    # The server starts worker and job-consumer processes: stop its whole process group.
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    log.close()


@pytest.fixture(scope="session")
def peer(peer_uri):
    return MlflowClient(tracking_uri=peer_uri, registry_uri=peer_uri)
