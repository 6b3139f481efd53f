"""Bulk-loads N runs (20 params and 20 metrics each, the same seeded values for both servers)
straight into an Ingot or an MLflow SQLite file, for the 100k-run search measurement of
bench/tracking.sh: loading that many runs through the REST API is slow on both servers and
measures logging, not search. Writes the rows each server's API would write.

usage: tracking_populate.py (ingot|mlflow) DB_FILE EXPERIMENT_NAME N
Prints the experiment id.
"""

import random
import sqlite3
import sys
import time
import uuid


def main():
    kind, path, name, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    mlflow = kind == "mlflow"
    db = sqlite3.connect(path, timeout=60)
    exp = db.execute("SELECT COALESCE(MAX(experiment_id), 0) + 1 FROM experiments").fetchone()[0]
    now = int(time.time() * 1000)
    experiment = (exp, name, f"mlflow-artifacts:/{exp}", "active", now, now)
    if mlflow:
        db.execute("INSERT INTO experiments VALUES (?, ?, ?, ?, ?, ?, 'default')", experiment)
    else:
        db.execute("INSERT INTO experiments VALUES (?, ?, ?, ?, ?, ?)", experiment)
    rng = random.Random(7)
    # Ingot keys metric points by a per-run series number, one past the largest so far.
    series = 0 if mlflow else db.execute("SELECT COALESCE(MAX(metric_series), 0) FROM runs").fetchone()[0]
    for start in range(0, n, 10_000):
        runs, tags, params, metrics = [], [], [], []
        for i in range(start, min(n, start + 10_000)):
            rid = uuid.uuid4().hex
            series += 1
            uri = f"mlflow-artifacts:/{exp}/{rid}/artifacts"
            if mlflow:
                runs.append((rid, f"run-{i}", "UNKNOWN", "", "", "bench", "FINISHED", now + i,
                             now + i + 1, "", "active", uri, exp, None))
            else:
                runs.append((rid, exp, f"run-{i}", "bench", "FINISHED", now + i, now + i + 1,
                             "active", uri, None, series))
            tags.append((rid, "mlflow.runName", f"run-{i}"))
            for k in range(20):
                params.append((rid, f"p{k}", f"v{rng.randrange(10)}"))
                metrics.append((rid, series, f"m{k}", 0, now, rng.random(), 0))
        if mlflow:
            db.executemany("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", runs)
            db.executemany("INSERT INTO tags (run_uuid, key, value) VALUES (?, ?, ?)", tags)
            db.executemany("INSERT INTO params (run_uuid, key, value) VALUES (?, ?, ?)", params)
            columns = "(run_uuid, key, step, timestamp, value, is_nan)"
            points = [(rid, *point) for rid, _, *point in metrics]
            db.executemany(f"INSERT INTO metrics {columns} VALUES (?, ?, ?, ?, ?, ?)", points)
            db.executemany(f"INSERT INTO latest_metrics {columns} VALUES (?, ?, ?, ?, ?, ?)", points)
        else:
            db.executemany("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", runs)
            db.executemany("INSERT INTO run_tags VALUES (?, ?, ?)", tags)
            db.executemany("INSERT INTO run_params VALUES (?, ?, ?)", params)
            db.executemany("INSERT INTO run_metrics VALUES (?, ?, ?, ?, ?, ?)",
                           [(series, *point) for _, series, *point in metrics])
            db.executemany("INSERT INTO run_latest_metrics VALUES (?, ?, ?, ?, ?, ?)",
                           [(rid, *point) for rid, _, *point in metrics])
        db.commit()
    print(exp)


if __name__ == "__main__":
    main()
