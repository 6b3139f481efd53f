"""Helpers of bench/monitoring.sh.

    monitoring.py generate ROWS OUT_DIR   write reference.parquet and current.parquet
    monitoring.py evidently REF CUR HTML JSON  run Evidently's DataDriftPreset, save its HTML
                                               report and per-column scores as JSON
    monitoring.py compare INGOT_JSON EVIDENTLY_JSON  per-column agreement of the two

The data: 50 columns, seeded. 35 numeric (normal, log-normal, uniform, integer counts) and 15
categorical strings (3 to 40 categories). In the current data 10 columns are shifted (7 numeric,
3 categorical); the rest come from the same distributions with a different seed.
"""
import json
import sys
import time


def generate(rows, out):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    def table(seed, shifted):
        rng = np.random.default_rng(seed)
        cols = {}
        for i in range(35):
            shift = shifted and i < 7
            kind = i % 4
            if kind == 0:
                v = rng.normal(0.5 if shift else 0.0, 1.0, rows)
            elif kind == 1:
                v = rng.lognormal(0.3 if shift else 0.0, 1.0, rows)
            elif kind == 2:
                v = rng.uniform(0.0, 1.3 if shift else 1.0, rows)
            else:
                v = rng.poisson(12 if shift else 10, rows).astype(np.int64)
            cols[f"num_{i:02d}"] = v
        for j in range(15):
            k = 3 + (j * 37) % 38
            p = np.arange(1, k + 1, dtype=float)[::-1]
            if shifted and j < 3:
                p = p[::-1]
            p /= p.sum()
            labels = np.array([f"c{j}_{x}" for x in range(k)])
            cols[f"cat_{j:02d}"] = labels[rng.choice(k, rows, p=p)]
        return pa.table(cols)

    pq.write_table(table(1, False), f"{out}/reference.parquet")
    pq.write_table(table(2, True), f"{out}/current.parquet")


def evidently(ref_path, cur_path, html, out_json):
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    t0 = time.time()
    ref = pd.read_parquet(ref_path)
    cur = pd.read_parquet(cur_path)
    t1 = time.time()
    result = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
    t2 = time.time()
    result.save_html(html)
    t3 = time.time()
    drifted = None
    columns = {}
    for m in result.dict().get("metrics", []):
        name = m.get("metric_name", "")
        if name.startswith("DriftedColumnsCount"):
            drifted = m["value"]
        elif name.startswith("ValueDrift("):
            cfg = m["config"]
            columns[cfg["column"]] = {"method": cfg["method"], "score": m["value"],
                                      "threshold": cfg["threshold"]}
    with open(out_json, "w") as f:
        json.dump({"drifted": drifted, "columns": columns}, f)
    print(f"read {t1 - t0:.2f}s, drift {t2 - t1:.2f}s, html {t3 - t2:.2f}s, drifted: {drifted}",
          file=sys.stderr)


def drifted(method, score, threshold):
    if "p_value" in method or "p-value" in method.lower():
        return score <= threshold
    return score >= threshold


def compare(ingot_json, evidently_json):
    ours = {c["column"]: c for c in json.load(open(ingot_json))["drift"]["columns"]}
    theirs = json.load(open(evidently_json))["columns"]
    agree = 0
    worst = 0.0
    for name, t in theirs.items():
        o = ours.get(name)
        if o is None:
            continue
        if o["drifted"] == drifted(t["method"], t["score"], t["threshold"]):
            agree += 1
        worst = max(worst, abs(o["score"] - t["score"]))
    print(f"per-column drift decisions agreeing with Evidently: {agree}/{len(theirs)}; "
          f"largest score difference {worst:.4f}")


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3])
    else:
        evidently(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
