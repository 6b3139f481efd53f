#!/usr/bin/env bash
# Dataset ingestion benchmark: read + infer + profile a CSV with Ingot (`ingot dataset profile`)
# and with pandas (read_csv + describe + nunique + value_counts), on the same generated file,
# in one run. Prints wall time and peak RSS of each whole process and the Ingot/pandas ratio.
#
# usage: bench/datasets.sh [ROWS]   (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release -q -p ingot
ingot=target/release/ingot
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/pip install -q --disable-pip-version-check "pandas>=2.1" "numpy>=1.26"

"$ingot" sample churn --rows "$rows" --seed 2024 --out "$work/data.csv"
echo "file: $rows rows, $(du -h "$work/data.csv" | cut -f1)"

cat > "$work/pandas_profile.py" <<'PY'
import sys
import pandas as pd
frame = pd.read_csv(sys.argv[1])
numeric = frame.select_dtypes("number")
stats = numeric.describe()
distinct = frame.nunique()
missing = frame.isna().sum()
hist = {c: pd.cut(numeric[c], 10).value_counts() for c in numeric.columns}
top = {c: frame[c].value_counts().head(10) for c in frame.columns if c not in numeric.columns}
print(len(frame), len(stats.columns), int(distinct.sum()), int(missing.sum()), len(hist), len(top))
PY

measure() { # name command... → prints "name seconds peak_kib"
    local name=$1; shift
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$work/rss" "$@" > /dev/null
    end=$(date +%s.%N)
    echo "$name $(echo "$end - $start" | bc) $(cat "$work/rss")"
}

ingot_line=$(measure ingot "$ingot" dataset profile --file "$work/data.csv" --output json)
pandas_line=$(measure pandas .venv/bin/python "$work/pandas_profile.py" "$work/data.csv")
read -r _ ingot_s ingot_kib <<< "$ingot_line"
read -r _ pandas_s pandas_kib <<< "$pandas_line"
printf "%-8s %10s %12s\n" tool seconds peak_MiB
printf "%-8s %10.2f %12.1f\n" ingot "$ingot_s" "$(echo "$ingot_kib / 1024" | bc -l)"
printf "%-8s %10.2f %12.1f\n" pandas "$pandas_s" "$(echo "$pandas_kib / 1024" | bc -l)"
printf "ratio ingot/pandas: time %.2f, memory %.2f\n" \
    "$(echo "$ingot_s / $pandas_s" | bc -l)" "$(echo "$ingot_kib / $pandas_kib" | bc -l)"
