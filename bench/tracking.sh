#!/usr/bin/env bash
# Tracking benchmark: `ingot server` vs `mlflow server --backend-store-uri sqlite:///…`, side by
# side, driven with the same MLflow REST load by bench/tracking.py (asyncio + aiohttp):
# create-run and log-batch (10 and 500 metrics) throughput at 20 concurrent clients, search-runs
# p50/p95 with 1k/10k/100k runs of 20 params + 20 metrics each, and peak RSS of each server's
# process tree. Results are JSON lines, then a table with the Ingot/MLflow ratios.
#
# usage: bench/tracking.sh
# env:   BENCH_SIZES        run counts for the search test (default 1000,10000,100000)
#        BENCH_MLFLOW_SIZES the same for MLflow (default: BENCH_SIZES; populating MLflow is slow)
#        BENCH_SECONDS      seconds per throughput test (default 10)
#        BENCH_PYTHON       a Python with mlflow and aiohttp (default: .venv/bin/python)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
python="${BENCH_PYTHON:-$root/.venv/bin/python}"
sizes="${BENCH_SIZES:-1000,10000}"
bulk="${BENCH_BULK:-100000}"
seconds="${BENCH_SECONDS:-10}"
"$python" -c 'import mlflow, aiohttp' || { echo "needs mlflow and aiohttp in $python"; exit 1; }

cargo build --release -p ingot
work="$(mktemp -d)"
pids=()
# Each server runs in its own session so its whole process group (mlflow's workers and job
# consumers included) is stopped at exit.
cleanup() { for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

INGOT_LOG=warn setsid target/release/ingot server --port 0 --home "$work/ingot" >"$work/ingot.out" 2>&1 &
pids+=($!); ingot_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/ingot.out" 2>/dev/null && break; sleep 0.2; done
ingot_url="$(grep -o 'http://[0-9.:]*' "$work/ingot.out" | head -1)"
ingot_token="$(cat "$work/ingot/admin-token")"

port="$(free_port)"
setsid "$python" -m mlflow server --backend-store-uri "sqlite:///$work/mlflow.db" \
    --artifacts-destination "$work/mlflow-artifacts" --host 127.0.0.1 --port "$port" \
    >"$work/mlflow.out" 2>&1 &
pids+=($!); mlflow_pid=$!
for _ in $(seq 240); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.5; done
mlflow_url="http://127.0.0.1:$port"

echo "== ingot $ingot_url (pid $ingot_pid), mlflow $mlflow_url (pid $mlflow_pid)"
"$python" bench/tracking.py ingot "$ingot_url" "$ingot_token" "$ingot_pid" \
    --sizes "$sizes" --seconds "$seconds" | tee "$work/results.jsonl"
"$python" bench/tracking.py mlflow "$mlflow_url" "" "$mlflow_pid" \
    --sizes "$sizes" --seconds "$seconds" | tee -a "$work/results.jsonl"

if [ "$bulk" -gt 0 ]; then
    exp="$("$python" bench/tracking_populate.py ingot "$work/ingot/ingot.db" "bulk" "$bulk")"
    "$python" bench/tracking.py ingot "$ingot_url" "$ingot_token" "$ingot_pid" \
        --search-experiment "$exp" --sizes "$bulk" | tee -a "$work/results.jsonl"
    exp="$("$python" bench/tracking_populate.py mlflow "$work/mlflow.db" "bulk" "$bulk")"
    "$python" bench/tracking.py mlflow "$mlflow_url" "" "$mlflow_pid" \
        --search-experiment "$exp" --sizes "$bulk" --repeats 10 | tee -a "$work/results.jsonl"
fi

# Streaming check: a large artifact through Ingot's proxied-artifact routes, with the server's
# peak RSS before and after (it must stay flat: bodies are streamed, never buffered).
artifact_mb="${BENCH_ARTIFACT_MB:-2048}"
if [ "$artifact_mb" -gt 0 ]; then
    hwm() { awk '/VmHWM/ {print int($2/1024)}' "/proc/$ingot_pid/status"; }
    before="$(hwm)"
    head -c "$((artifact_mb * 1024 * 1024))" /dev/urandom >"$work/big.bin"
    sum_in="$(sha256sum <"$work/big.bin" | cut -d' ' -f1)"
    auth=(-H "Authorization: Bearer $ingot_token")
    up_start=$(date +%s.%N)
    curl -sf "${auth[@]}" -T "$work/big.bin" "$ingot_url/api/2.0/mlflow-artifacts/artifacts/bench/big.bin" >/dev/null
    up_end=$(date +%s.%N)
    sum_out="$(curl -sf "${auth[@]}" "$ingot_url/api/2.0/mlflow-artifacts/artifacts/bench/big.bin" | sha256sum | cut -d' ' -f1)"
    down_end=$(date +%s.%N)
    after="$(hwm)"
    rm -f "$work/big.bin"
    [ "$sum_in" = "$sum_out" ] || { echo "artifact round trip changed the bytes"; exit 1; }
    "$python" -c "import json; print(json.dumps({'server': 'ingot', 'measure': 'artifact-${artifact_mb}MiB', 'unit': 'MiB peak RSS', 'value': $after, 'before': $before, 'upload_s': round($up_end - $up_start, 1), 'download_s': round($down_end - $up_end, 1)}))" | tee -a "$work/results.jsonl"
fi

"$python" - "$work/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    by.setdefault(r["measure"], {})[r["server"]] = r
print(f"\n{'measure':32} {'ingot':>12} {'mlflow':>12} {'ratio':>9}")
for measure, servers in by.items():
    i, m = servers.get("ingot"), servers.get("mlflow")
    fmt = lambda r: f"{r['value']:.1f}" if r else "-"
    ratio = "-"
    if i and m and i["value"] and m["value"]:
        higher_is_better = i["unit"] == "req/s"
        ratio = f"{(i['value'] / m['value'] if higher_is_better else m['value'] / i['value']):.1f}x"
    unit = (i or m)["unit"]
    print(f"{measure + ' (' + unit + ')':32} {fmt(i):>12} {fmt(m):>12} {ratio:>9}")
PY
