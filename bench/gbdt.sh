#!/usr/bin/env bash
# GBDT benchmark: Ingot's gbdt vs LightGBM vs XGBoost (tree_method=hist) on generated data,
# same trees / leaves / learning rate / bins, 2 threads. Times each whole process (file loading
# included) with /usr/bin/time, and prints train time, predict time for 100k rows, peak RSS and
# held-out quality with the Ingot/LightGBM and Ingot/XGBoost ratios.
#
# usage: bench/gbdt.sh [KIND ...]       KIND: higgs regression multiclass (default: all)
# env:   BENCH_SEED  data seed (default: fresh, from the clock)
#        BENCH_SCALE fraction of the full row counts (default 1: 1M, 500k, 200k training rows)
#        BENCH_PYTHON a Python with lightgbm, xgboost, scikit-learn, pandas (default: a venv
#                     created under bench/.venv)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
kinds=("$@")
[ ${#kinds[@]} -eq 0 ] && kinds=(higgs regression multiclass)
seed="${BENCH_SEED:-$(date +%s)}"
scale="${BENCH_SCALE:-1}"

python="${BENCH_PYTHON:-}"
if [ -z "$python" ]; then
    if [ ! -x bench/.venv/bin/python ]; then
        python3 -m venv bench/.venv
    fi
    bench/.venv/bin/pip install --quiet --disable-pip-version-check \
        numpy pandas scikit-learn lightgbm xgboost
    python=bench/.venv/bin/python
fi
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }

cargo build --release -p ingot --quiet
ingot="$root/target/release/ingot"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# run NAME CMD...: runs CMD, records "seconds peak_kb" in $work/NAME.time
run() {
    local name="$1"
    shift
    /usr/bin/time -f "%e %M" -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || {
        echo "FAILED: $*" >&2
        cat "$work/$name.err" >&2
        exit 1
    }
}
field() { cut -d' ' -f"$2" "$work/$1.time"; }

echo "seed $seed, scale $scale, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
printf '| data | system | train s | predict 100k s | peak RSS MB (train) | quality |\n'
printf '|---|---|---:|---:|---:|---:|\n'
summary=""
for kind in "${kinds[@]}"; do
    dir="$work/$kind"
    mkdir -p "$dir"
    "$python" bench/gbdt.py generate "$kind" "$seed" "$scale" "$dir"
    case "$kind" in
        higgs) ptype=binary_classifier; metric=AUC ;;
        regression) ptype=regressor; metric=RMSE ;;
        multiclass) ptype=multiclass_classifier; metric=accuracy ;;
    esac
    run "$kind-ingot-train" "$ingot" train --local --algorithm gbdt --target y \
        --file "$dir/train.csv" --out "$dir/model.ingot" --validation-fraction 0 \
        --hp predictor_type=$ptype --hp num_trees=100 --hp num_leaves=31 \
        --hp learning_rate=0.1 --hp max_bin=255 --hp min_data_in_leaf=20
    run "$kind-ingot-predict" "$ingot" predict --local --model "$dir/model.ingot" \
        --file "$dir/test.csv"
    cp "$work/$kind-ingot-predict.out" "$dir/ingot.csv"
    for peer in lightgbm xgboost; do
        run "$kind-$peer-train" "$python" bench/gbdt.py train $peer "$kind" "$dir/train.csv" "$dir/$peer-model.json"
        run "$kind-$peer-predict" "$python" bench/gbdt.py predict $peer "$kind" "$dir/$peer-model.json" \
            "$dir/test.csv" "$dir/$peer.csv"
    done
    declare -A q t p m
    for system in ingot lightgbm xgboost; do
        q[$system]=$("$python" bench/gbdt.py score "$kind" "$dir/test.csv" "$dir/$system.csv")
        t[$system]=$(field "$kind-$system-train" 1)
        p[$system]=$(field "$kind-$system-predict" 1)
        m[$system]=$(( $(field "$kind-$system-train" 2) / 1024 ))
        printf '| %s | %s | %s | %s | %s | %s %.5f |\n' "$kind" "$system" "${t[$system]}" \
            "${p[$system]}" "${m[$system]}" "$metric" "${q[$system]}"
    done
    summary+=$(awk -v k="$kind" -v ti="${t[ingot]}" -v tl="${t[lightgbm]}" -v tx="${t[xgboost]}" \
        -v pi="${p[ingot]}" -v pl="${p[lightgbm]}" -v px="${p[xgboost]}" \
        -v mi="${m[ingot]}" -v ml="${m[lightgbm]}" -v mx="${m[xgboost]}" \
        -v qi="${q[ingot]}" -v ql="${q[lightgbm]}" -v qx="${q[xgboost]}" -v metric="$metric" \
        'BEGIN { printf "| %s | %.2f× / %.2f× | %.2f× / %.2f× | %.2f× / %.2f× | %s %+.5f / %+.5f |\n", k, ti/tl, ti/tx, pi/pl, pi/px, mi/ml, mi/mx, metric, qi-ql, qi-qx }')
    summary+=$'\n'
    unset q t p m
done
echo
echo "Ratios Ingot/LightGBM and Ingot/XGBoost (lower is better for time and memory; quality is Ingot minus peer):"
printf '| data | train time | predict time | peak RSS | quality |\n|---|---:|---:|---:|---:|\n%s' "$summary"
