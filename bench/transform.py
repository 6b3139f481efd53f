"""Batch transform benchmark helper: prepares an XGBoost model (500 trees, 30 features) and a
dataset to score, times XGBoost's own batch scoring of the same file (read Parquet, predict,
write Parquet), and checks Ingot's output against XGBoost's predictions.
usage: transform.py prepare OUT_DIR ROWS
       transform.py peer OUT_DIR THREADS      (prints the seconds XGBoost took)
       transform.py compare OUT_DIR INGOT_OUTPUT_PARQUET
"""
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from bench_model import FEATURES as features, train

mode, out = sys.argv[1], Path(sys.argv[2])

if mode == "prepare":
    rows = int(sys.argv[3])
    rng = np.random.default_rng(5)
    model, _ = train(rng)
    model.get_booster().save_model(str(out / "model.json"))
    data = rng.normal(size=(rows, 30))
    pd.DataFrame(data, columns=features).to_parquet(out / "data.parquet", index=False)
elif mode == "peer":
    threads = int(sys.argv[3])
    booster = xgb.Booster(model_file=str(out / "model.json"))
    booster.set_param({"nthread": threads})
    start = time.perf_counter()
    frame = pd.read_parquet(out / "data.parquet")
    probability = booster.predict(xgb.DMatrix(frame, nthread=threads))
    pd.DataFrame({"probability_1": probability}).to_parquet(out / "xgboost.parquet", index=False)
    print(f"{time.perf_counter() - start:.3f}")
elif mode == "compare":
    ours = pd.read_parquet(sys.argv[3])["probability_1"].to_numpy()
    theirs = pd.read_parquet(out / "xgboost.parquet")["probability_1"].to_numpy()
    assert len(ours) == len(theirs), (len(ours), len(theirs))
    difference = np.abs(ours - theirs)
    relative = difference / np.maximum(np.abs(theirs), 1e-12)
    print(f"rows {len(ours)}, max abs difference {difference.max():.2e}, "
          f"max relative difference {relative.max():.2e}")
else:
    sys.exit(f"unknown mode {mode}")
