#!/usr/bin/env bash
# Drift-monitoring benchmark: `ingot monitor baseline` + `ingot monitor check` (with the HTML
# report) against Evidently's DataDriftPreset (with its HTML report) on the same generated
# Parquet files: ROWS rows x 50 columns (35 numeric, 15 categorical), 10 columns shifted.
# Prints wall time and peak RSS (/usr/bin/time -v) of each process, the ratios, the HTML sizes
# and how many per-column drift decisions agree.
#
# usage: bench/monitoring.sh [ROWS...]   (default 1000000; several sizes show the scaling)
# env:   EVIDENTLY_TIMEOUT  seconds before Evidently is stopped (default 3600)
#        BENCH_KEEP=1       keep the work directory
#        INGOT_BIN          an already built ingot binary (skips `cargo build --release`)
#
# Evidently 0.7 does not import with pandas 3, so it runs in its own venv,
# bench/.venv-evidently (gitignored), with pandas 2.3.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-1000000}")
timeout_s="${EVIDENTLY_TIMEOUT:-3600}"
work="$(mktemp -d)"
if [ "${BENCH_KEEP:-0}" != 1 ]; then trap 'rm -rf "$work"' EXIT; else echo "work dir: $work"; fi

if [ -n "${INGOT_BIN:-}" ]; then
    ingot="$INGOT_BIN"
else
    cargo build --release -q -p ingot
    ingot="$PWD/target/release/ingot"
fi
venv=bench/.venv-evidently
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/pip" install -q --disable-pip-version-check "evidently==0.7.23" "pandas>=2.2,<3" pyarrow
py="$PWD/$venv/bin/python"

measure() { # name command... → prints "name seconds peak_kib status"
    local name=$1; shift
    local status=0
    /usr/bin/time -v -o "$work/time.$name" "$@" > "$work/out.$name" 2> "$work/err.$name" || status=$?
    local wall kib
    wall=$(grep "Elapsed (wall clock)" "$work/time.$name" | awk '{print $NF}' \
        | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
    kib=$(grep "Maximum resident set size" "$work/time.$name" | awk '{print $NF}')
    echo "$name $wall $kib $status"
}

mib() { echo "scale=1; $1 / 1024" | bc; }

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(uname -sr)"
for rows in "${sizes[@]}"; do
    dir="$work/$rows"
    mkdir -p "$dir"
    "$py" bench/monitoring.py generate "$rows" "$dir"
    echo
    echo "== $rows rows x 50 columns (reference $(du -h "$dir/reference.parquet" | cut -f1), current $(du -h "$dir/current.parquet" | cut -f1) Parquet)"
    read -r _ b_s b_kib b_st <<< "$(measure baseline "$ingot" monitor baseline --file "$dir/reference.parquet" --out "$dir/base")"
    read -r _ c_s c_kib c_st <<< "$(measure check "$ingot" --output json monitor check --baseline "$dir/base" --file "$dir/current.parquet" --report "$dir/ingot.html")"
    cp "$work/out.check" "$dir/ingot.json"
    read -r _ e_s e_kib e_st <<< "$(measure evidently timeout "$timeout_s" "$py" bench/monitoring.py evidently "$dir/reference.parquet" "$dir/current.parquet" "$dir/evidently.html" "$dir/evidently.json")"
    printf "%-24s %10s %12s %8s\n" step seconds peak_MiB status
    printf "%-24s %10.2f %12s %8s\n" "ingot monitor baseline" "$b_s" "$(mib "$b_kib")" "$b_st"
    printf "%-24s %10.2f %12s %8s\n" "ingot monitor check" "$c_s" "$(mib "$c_kib")" "$c_st (3 = violations)"
    printf "%-24s %10.2f %12s %8s\n" "evidently DataDriftPreset" "$e_s" "$(mib "$e_kib")" "$e_st"
    total=$(echo "$b_s + $c_s" | bc -l)
    peak=$(( b_kib > c_kib ? b_kib : c_kib ))
    if [ "$e_st" = 0 ]; then
        printf "ratio evidently/ingot (baseline+check): time %.1fx, peak memory %.1fx\n" \
            "$(echo "$e_s / $total" | bc -l)" "$(echo "$e_kib / $peak" | bc -l)"
        printf "ratio evidently/ingot check only:       time %.1fx\n" "$(echo "$e_s / $c_s" | bc -l)"
        echo "evidently: $(cat "$work/err.evidently" | tail -1)"
        "$py" bench/monitoring.py compare "$dir/ingot.json" "$dir/evidently.json"
        echo "HTML report: ingot $(du -h "$dir/ingot.html" | cut -f1), evidently $(du -h "$dir/evidently.html" | cut -f1)"
    else
        echo "evidently did not finish (status $e_st; 124 = timeout after ${timeout_s}s): $(tail -3 "$work/err.evidently")"
        echo "HTML report: ingot $(du -h "$dir/ingot.html" | cut -f1)"
    fi
    echo "ingot drifted columns: $("$py" -c "import json,sys; d=json.load(open('$dir/ingot.json'))['drift']; print(d['number_of_drifted_columns'], 'of', d['number_of_columns'])")"
    rm -f "$dir"/*.parquet
done
