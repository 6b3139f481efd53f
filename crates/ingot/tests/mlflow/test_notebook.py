"""The issue's "done when" script: only `import mlflow`, run unchanged against Ingot: log a
scikit-learn model, register it, alias it `champion`, load it by `models:/name@champion`
and predict."""

import os
import subprocess
import sys
import textwrap

NOTEBOOK = textwrap.dedent(
    """
    import mlflow
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    mlflow.set_experiment("notebook-" + NAME)
    with mlflow.start_run():
        model = LogisticRegression(max_iter=300).fit(X, y)
        mlflow.log_param("max_iter", 300)
        mlflow.log_metric("train_accuracy", model.score(X, y))
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name=NAME)
    client = mlflow.MlflowClient()
    version = info.registered_model_version
    client.set_registered_model_alias(NAME, "champion", version)
    loaded = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    predictions = loaded.predict(X[:10])
    assert list(predictions) == list(model.predict(X[:10])), predictions
    print("VERSION", version, "PREDICTIONS", [int(p) for p in predictions])
    """
)


def test_notebook_script_runs_unchanged(name, tmp_path):
    script = tmp_path / "notebook.py"
    script.write_text(f"NAME = {name!r}\n" + NOTEBOOK)
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=dict(os.environ),
        capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERSION 1 PREDICTIONS [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]" in result.stdout, result.stdout

    from mlflow import MlflowClient
    client = MlflowClient()
    version = client.get_model_version_by_alias(name, "champion")
    assert version.version == "1"
    assert version.source.startswith("models:/m-")
    run = client.get_run(version.run_id)
    assert run.data.params == {"max_iter": "300"}
    assert run.data.metrics["train_accuracy"] > 0.9
