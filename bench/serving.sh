#!/usr/bin/env bash
# Serving benchmark: the same XGBoost model (500 trees, 30 features) served by Ingot
# (`/invocations` and Open Inference Protocol v2) and by `mlflow models serve`, loaded with
# `oha` at fixed concurrency levels. Reports throughput, p50 and p99 for 1-row and 100-row
# requests, the throughput and p99 ratios, the single-row p99 at half of Ingot's peak
# throughput (with a no-work control endpoint at the same rate), and cold start (deploy → first
# successful answer).
#
# usage: bench/serving.sh
# env:   BENCH_SECONDS      seconds per load run (default 10)
#        BENCH_CONCURRENCY  concurrency levels (default "1 8 32")
#        BENCH_PYTHON       a Python with xgboost and mlflow (default: .venv/bin/python)
#        BENCH_MLFLOW_WORKERS  mlflow serve workers (default 2, one per core here)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
python="${BENCH_PYTHON:-$root/.venv/bin/python}"
seconds="${BENCH_SECONDS:-10}"
levels="${BENCH_CONCURRENCY:-1 8 32}"
workers="${BENCH_MLFLOW_WORKERS:-2}"
"$python" -c 'import xgboost, mlflow' || { echo "needs xgboost and mlflow in $python"; exit 1; }
command -v oha >/dev/null || cargo install oha --locked
cargo build --release -p ingot

work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

echo "== preparing the model and request bodies"
"$python" bench/serving_models.py "$work"

echo "== ingot"
INGOT_LOG=warn setsid target/release/ingot server --port 0 --no-auth --home "$work/ingot" >"$work/ingot.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$work/ingot.out" 2>/dev/null && break; sleep 0.1; done
ingot="$(grep -o 'http://[0-9.:]*' "$work/ingot.out" | head -1)"
export INGOT_SERVER="$ingot" INGOT_HOME="$work/ingot"
target/release/ingot model import bench --file "$work/model.json" --format xgboost >/dev/null
start=$(now)
target/release/ingot deploy bench --endpoint bench >/dev/null
until curl -sf -H 'content-type: text/csv; header=present' --data-binary @"$work/one.csv" \
    "$ingot/endpoints/bench/invocations" >/dev/null; do sleep 0.005; done
ingot_cold=$(echo "$(now) - $start" | bc)

echo "== mlflow models serve ($workers workers)"
port="$(free_port)"
start=$(now)
# mlflow execs `uvicorn` from PATH: the venv's bin directory must come first.
PATH="$(dirname "$python"):$PATH" setsid "$python" -m mlflow models serve -m "$work/mlflow-model" --env-manager local \
    -h 127.0.0.1 -p "$port" -w "$workers" >"$work/mlflow.out" 2>&1 &
pids+=($!)
mlflow="http://127.0.0.1:$port"
for i in $(seq 3000); do
    curl -sf -H 'content-type: text/csv' --data-binary @"$work/one.csv" "$mlflow/invocations" >/dev/null && break
    [ "$i" = 3000 ] && { echo "mlflow never answered:"; tail -20 "$work/mlflow.out"; exit 1; }
    sleep 0.05
done
mlflow_cold=$(echo "$(now) - $start" | bc)

load() { # name url content-type body concurrency [rate]; body "-" sends a GET
    local rate=() request=(-m POST -H "content-type: $3" -D "$4")
    [ -n "${6:-}" ] && rate=(-q "$6")
    [ "$4" = - ] && request=()
    oha -z "${seconds}s" -c "$5" "${rate[@]}" ${OHA_EXTRA:-} --no-tui --output-format json \
        "${request[@]}" "$2" >"$work/oha.json"
    "$python" - "$1" "$5" "$work/oha.json" <<'PY'
import json, sys
name, concurrency, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
r = json.load(open(path))
codes = r.get("statusCodeDistribution", {})
ok = sum(v for k, v in codes.items() if k.startswith("2"))
total = sum(codes.values())
p = r["latencyPercentiles"]
print(json.dumps({"case": name, "c": concurrency, "rps": round(r["summary"]["requestsPerSec"], 1),
                  "p50_ms": round(p["p50"] * 1000, 3), "p99_ms": round(p["p99"] * 1000, 3),
                  "ok": ok, "total": total}))
PY
}

results="$work/results.jsonl"
for c in $levels; do
    load ingot-1row "$ingot/endpoints/bench/invocations" "text/csv; header=present" "$work/one.csv" "$c" | tee -a "$results"
    load ingot-oip-1row "$ingot/v2/models/bench/infer" "application/json" "$work/one.oip.json" "$c" | tee -a "$results"
    load ingot-100rows "$ingot/endpoints/bench/invocations" "text/csv; header=present" "$work/hundred.csv" "$c" | tee -a "$results"
    # A new connection per request for MLflow: its uvicorn (0.54 in the 2026-11-22 run) sends an
    # answer's head and body in two writes, and on a reused connection Nagle's algorithm holds
    # the body until the client's delayed ACK, about 40 ms a request (seen with `strace` and
    # curl). A loopback connection costs far less than that, so this measures the server.
    OHA_EXTRA=--disable-keepalive load mlflow-1row "$mlflow/invocations" "text/csv" "$work/one.csv" "$c" | tee -a "$results"
    OHA_EXTRA=--disable-keepalive load mlflow-100rows "$mlflow/invocations" "text/csv" "$work/hundred.csv" "$c" | tee -a "$results"
done
# Single-row p99 at half of Ingot's peak single-row throughput.
peak="$("$python" -c "import json,sys; print(max(json.loads(l)['rps'] for l in open('$results') if json.loads(l)['case']=='ingot-1row'))")"
half="$("$python" -c "print(max(1, int($peak / 2)))")"
load ingot-1row-half-peak "$ingot/endpoints/bench/invocations" "text/csv; header=present" "$work/one.csv" 8 "$half" | tee -a "$results"
# Control: the same offered load on an endpoint that does no work (`/v2/health/live` answers
# from the front, no replica, no model). Its p99 is the floor this machine and oha's pacing
# (a 1 ms timer: requests leave in bursts of rate/1000) put under any server at this rate.
load ingot-health-half-peak "$ingot/v2/health/live" - - 8 "$half" | tee -a "$results"

"$python" - "$results" "$ingot_cold" "$mlflow_cold" "$half" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
get = {(r["case"], r["c"]): r for r in rows}
print(f"\n{'case':22} {'c':>3} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ok/total':>13}")
for r in rows:
    print(f"{r['case']:22} {r['c']:>3} {r['rps']:>9} {r['p50_ms']:>8} {r['p99_ms']:>8} {str(r['ok']) + '/' + str(r['total']):>13}")
print(f"\n{'ratio (ingot vs mlflow)':30} {'c':>3} {'throughput':>11} {'p99':>8}")
for case in ["1row", "100rows"]:
    for (name, c), r in sorted(get.items()):
        if name == f"ingot-{case}" and (f"mlflow-{case}", c) in get:
            m = get[(f"mlflow-{case}", c)]
            print(f"{case:30} {c:>3} {r['rps'] / m['rps']:>10.1f}x {m['p99_ms'] / r['p99_ms']:>7.1f}x")
print(f"\ncold start: ingot {float(sys.argv[2]):.3f} s (deploy to first answer), "
      f"mlflow {float(sys.argv[3]):.3f} s (process start to first answer)")
offered = float(sys.argv[4])
half, control = get[("ingot-1row-half-peak", 8)], get[("ingot-health-half-peak", 8)]
print(f"half of peak: offered {offered:.0f} req/s, served {half['rps']:.0f}; "
      f"p99 {half['p99_ms']} ms (target < 1 ms), no-work control p99 {control['p99_ms']} ms")
if min(half["rps"], control["rps"]) < 0.95 * offered:
    print("warning: the machine could not serve the offered rate, so the half-peak p99 "
          "is not a reading of the server; rerun when the machine is quieter")
PY
