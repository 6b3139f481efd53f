#!/usr/bin/env bash
# Batch transform benchmark: one dataset (BENCH_ROWS rows, 30 float columns, Parquet) scored by
# the same XGBoost model (500 trees, depth 6) through `ingot transform --wait` (read the
# dataset version, score on every core, write a new Parquet dataset version) and through
# XGBoost's own `Booster.predict` on the same file (read Parquet, predict, write Parquet), both
# on BENCH_THREADS threads. Prints both times, the ratio, and how far Ingot's probabilities are
# from XGBoost's.
#
# usage: bench/transform.sh
# env:   BENCH_ROWS     rows to score (default 1000000)
#        BENCH_THREADS  worker threads for both (default: all cores)
#        BENCH_PYTHON   a Python with xgboost, pandas and pyarrow (default: .venv/bin/python)
#        BENCH_INGOT    an ingot binary to run instead of building target/release/ingot
#        BENCH_SERVER_FLAGS  more `ingot server` flags, e.g. `--replica-mode in-process` to score
#                       inside the server instead of in a transform worker process
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
python="${BENCH_PYTHON:-$root/.venv/bin/python}"
rows="${BENCH_ROWS:-1000000}"
threads="${BENCH_THREADS:-$(nproc)}"
"$python" -c 'import xgboost, pandas, pyarrow' || { echo "needs xgboost, pandas and pyarrow in $python"; exit 1; }
ingot="${BENCH_INGOT:-}"
[ -z "$ingot" ] && { cargo build --release -p ingot; ingot="$root/target/release/ingot"; }

work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && { kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; }; rm -rf "$work"; }
trap cleanup EXIT
now() { date +%s.%N; }

echo "== preparing the model and $rows rows"
"$python" bench/transform.py prepare "$work" "$rows"

echo "== ingot"
# shellcheck disable=SC2086 # the flags are words
INGOT_LOG=warn setsid "$ingot" server --port 0 --no-auth --home "$work/ingot" ${BENCH_SERVER_FLAGS:-} >"$work/ingot.out" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/ingot.out" 2>/dev/null && break; sleep 0.1; done
export INGOT_SERVER="$(grep -o 'http://[0-9.:]*' "$work/ingot.out" | head -1)" INGOT_HOME="$work/ingot"
"$ingot" dataset create data --path "$work/data.parquet" >/dev/null
"$ingot" model import bench --file "$work/model.json" --format xgboost >/dev/null
start=$(now)
"$ingot" transform --model bench --dataset data --output-dataset scored \
    --workers "$threads" --wait >/dev/null
ingot_seconds=$(echo "$(now) - $start" | bc)
hash="$("$ingot" --output json dataset show scored | "$python" -c 'import json,sys; print(json.load(sys.stdin)["content_hash"])')"
output="$(find "$work/ingot/artifacts" -type f -name "*${hash#sha256:}*" | head -1)"

echo "== xgboost"
xgboost_seconds="$("$python" bench/transform.py peer "$work" "$threads")"

echo
"$python" bench/transform.py compare "$work" "$output"
"$python" - "$rows" "$threads" "$ingot_seconds" "$xgboost_seconds" <<'PY'
import sys
rows, threads, ours, theirs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
print(f"{rows} rows on {threads} threads: ingot transform {ours:.2f} s ({rows / ours:,.0f} rows/s, "
      f"submit to new dataset version), xgboost {theirs:.2f} s ({rows / theirs:,.0f} rows/s, "
      f"read, predict, write); ingot is {theirs / ours:.2f}x xgboost's speed")
PY
