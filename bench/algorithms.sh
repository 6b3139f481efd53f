#!/usr/bin/env bash
# Algorithm benchmark: each Ingot built-in algorithm against its scikit-learn counterpart on
# the same generated CSV, both limited to 2 threads, in one run. Each side is timed as a whole
# process (read the CSV, preprocess, fit), because that is what a user waits for; the
# scikit-learn script also reports its fit-only time. Prints a Markdown table for
# docs/benchmarks.md with the Ingot/scikit-learn time ratio (below 1: Ingot is faster).
#
# usage: bench/algorithms.sh [ALGORITHM ...]   (default: all; e.g. linear_learner)
#        ROWS=1000000 COLS=20 bench/algorithms.sh
#
# Adding an algorithm: write a `bench_NAME` function that calls `generate` for its data and
# `compare` once per case, and add NAME to ALGORITHMS below.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${ROWS:-1000000}"
COLS="${COLS:-20}"
THREADS=2
ALGORITHMS=(linear_learner kmeans pca knn random_forest random_cut_forest)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
export RAYON_NUM_THREADS=$THREADS
cpus="0-$((THREADS - 1))"

cargo build --release -q -p ingot
ingot="$PWD/target/release/ingot"
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/pip install -q --disable-pip-version-check "numpy>=1.26" "scikit-learn>=1.4" "pandas>=2.1"
python="$PWD/.venv/bin/python"

# generate KIND ROWS COLS → prints the path of a cached CSV with features f0.. and target y.
# KIND: regression | binary | multiclass | blobs (no target).
generate() {
    local kind=$1 rows=$2 cols=$3 path="$work/$1-$2x$3.csv"
    if [ ! -f "$path" ]; then
        "$python" - "$kind" "$rows" "$cols" "$path" <<'PY'
import sys
import numpy as np
import pandas as pd
kind, rows, cols, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(42)
x = rng.normal(size=(rows, cols))
w = rng.normal(size=cols)
frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(cols)])
z = x @ w + rng.normal(scale=1.0, size=rows)
if kind == "regression":
    frame["y"] = z
elif kind == "binary":
    frame["y"] = (z > 0).astype(int)
elif kind == "multiclass":
    frame["y"] = np.digitize(z, np.quantile(z, [1 / 3, 2 / 3]))
frame.to_csv(path, index=False, float_format="%.6g")
PY
    fi
    echo "$path"
}

# seconds COMMAND... → runs it on $THREADS CPUs, output to $work/last.out (stderr to
# $work/last.err, end time to $work/last.end), prints wall seconds.
seconds() {
    local start end
    start=$(date +%s.%N)
    taskset -c "$cpus" "$@" > "$work/last.out" 2> "$work/last.err"
    end=$(date +%s.%N)
    echo "$end" > "$work/last.end"
    echo "$end - $start" | bc
}

# ingot_fit_seconds → seconds from the pipeline's "training ..." log line (data parsed,
# fitting starts) to the end of the last Ingot run: its fit (and model write) time.
ingot_fit_seconds() {
    local line stamp
    line=$(sed 's/\x1b\[[0-9;]*m//g' "$work/last.err" | grep -m1 -E ' training [a-z-]+ ' || true)
    stamp=$(echo "$line" | grep -oE '^[0-9]{4}-[0-9-]+T[0-9:.]+Z' || true)
    if [ -z "$stamp" ]; then echo "?"; return; fi
    printf '%.2f' "$(echo "$(cat "$work/last.end") - $(date -d "$stamp" +%s.%N)" | bc)"
}

results=()
# compare ALGORITHM CASE DATA "INGOT ARGS" "PYTHON FIT SNIPPET"
# The Python snippet sees x (standardized float64 features), y (target or None) and n, and
# must fit the peer model; the script prints its fit-only seconds.
compare() {
    local algorithm=$1 case=$2 data=$3 ingot_args=$4 snippet=$5
    # shellcheck disable=SC2086
    local ingot_s
    ingot_s=$(INGOT_LOG=info seconds "$ingot" train --local --file "$data" \
        --out "$work/model.ingot" --algorithm "$algorithm" --validation-fraction 0 $ingot_args)
    local ingot_fit_s
    ingot_fit_s=$(ingot_fit_seconds)
    cat > "$work/peer.py" <<PY
import sys, time
import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler
frame = pd.read_csv(sys.argv[1])
y = frame.pop("y").to_numpy() if "y" in frame else None
x = StandardScaler().fit_transform(frame.to_numpy(dtype=np.float64))
n = len(x)
start = time.perf_counter()
$snippet
print(f"{time.perf_counter() - start:.3f}")
PY
    local peer_s peer_fit_s
    peer_s=$(seconds "$python" "$work/peer.py" "$data")
    peer_fit_s=$(tail -n 1 "$work/last.out")
    local ratio
    ratio=$(echo "scale=2; $ingot_s / $peer_s" | bc)
    results+=("| $algorithm | $case | $(printf '%.2f' "$ingot_s") | $(printf '%.2f' "$peer_s") | $ratio | $ingot_fit_s | $peer_fit_s |")
    echo "${results[-1]}" >&2
}

bench_linear_learner() {
    local binary regression
    binary=$(generate binary "$ROWS" "$COLS")
    regression=$(generate regression "$ROWS" "$COLS")
    local l2=0.0001
    compare linear-learner "logistic L2, L-BFGS vs LogisticRegression(lbfgs)" "$binary" \
        "--target y --hp l2=$l2 --hp tol=1e-6 --hp predictor_type=binary_classifier" \
        "from sklearn.linear_model import LogisticRegression
LogisticRegression(C=1 / ($l2 * n), tol=1e-6, max_iter=200).fit(x, y)"
    compare linear-learner "logistic L1, OWL-QN vs LogisticRegression(saga, l1_ratio=1)" "$binary" \
        "--target y --hp l1=$l2 --hp l2=0 --hp tol=1e-4 --hp predictor_type=binary_classifier" \
        "from sklearn.linear_model import LogisticRegression
LogisticRegression(C=1 / ($l2 * n), l1_ratio=1.0, solver='saga', tol=1e-4, max_iter=100).fit(x, y)"
    compare linear-learner "logistic L2, SGD 5 epochs vs SGDClassifier(log_loss)" "$binary" \
        "--target y --hp l2=$l2 --hp solver=sgd --hp epochs=5 --hp predictor_type=binary_classifier" \
        "from sklearn.linear_model import SGDClassifier
SGDClassifier(loss='log_loss', alpha=$l2, max_iter=5, tol=None, random_state=0).fit(x, y)"
    compare linear-learner "ridge, normal equations vs Ridge" "$regression" \
        "--target y --hp l2=$l2 --hp tol=1e-6 --hp predictor_type=regressor" \
        "from sklearn.linear_model import Ridge
Ridge(alpha=$l2 * n).fit(x, y)"
    compare linear-learner "elastic net, OWL-QN vs ElasticNet" "$regression" \
        "--target y --hp l1=0.005 --hp l2=0.005 --hp tol=1e-6 --hp predictor_type=regressor" \
        "from sklearn.linear_model import ElasticNet
ElasticNet(alpha=0.01, l1_ratio=0.5).fit(x, y)"
}

bench_kmeans() {
    local data
    data=$(generate blobs "$ROWS" "$COLS")
    compare kmeans "k=8, k-means++ + Lloyd (100 iterations max) vs KMeans(lloyd, n_init=1)" "$data" \
        "--hp k=8 --hp n_init=1 --hp max_iter=100" \
        "from sklearn.cluster import KMeans
KMeans(n_clusters=8, n_init=1, max_iter=100, algorithm='lloyd', random_state=0).fit(x)"
    local steps=$((ROWS / 1024))
    compare kmeans "k=8, mini-batch ($steps steps of 1024) vs MiniBatchKMeans(max_iter=1)" "$data" \
        "--hp k=8 --hp mode=minibatch --hp batch_size=1024 --hp max_iter=$steps --hp tol=0" \
        "from sklearn.cluster import MiniBatchKMeans
MiniBatchKMeans(n_clusters=8, batch_size=1024, max_iter=1, n_init=1, random_state=0).fit(x)"
}

bench_pca() {
    local data
    data=$(generate blobs "$ROWS" "$COLS")
    compare pca "exact, all components vs PCA(covariance_eigh)" "$data" "--hp standardize=true" \
        "from sklearn.decomposition import PCA
PCA(svd_solver='covariance_eigh').fit(x)"
    compare pca "randomized, 5 components, 7 power iterations vs PCA(randomized)" "$data" \
        "--hp standardize=true --hp mode=randomized --hp num_components=5 --hp power_iterations=7" \
        "from sklearn.decomposition import PCA
PCA(n_components=5, svd_solver='randomized', iterated_power=7, random_state=0).fit(x)"
}

# k-NN fits little (an index); the work is in queries, so each side fits on KNN_ROWS rows and
# then classifies KNN_QUERIES rows: Ingot as `train` + `predict --local`, scikit-learn as
# fit + predict in one process.
bench_knn() {
    local rows=${KNN_ROWS:-200000} queries=${KNN_QUERIES:-10000} data query
    data=$(generate binary "$rows" "$COLS")
    query="$work/knn-queries.csv"
    head -n "$((queries + 1))" "$(generate binary "$((queries * 3))" "$COLS")" > "$query"
    local index
    for index in exact ivf; do
        local ingot_s peer_s peer_fit_s ratio
        ingot_s=$(seconds bash -c "'$ingot' train --local --file '$data' --out '$work/knn.ingot' \
            --algorithm knn --validation-fraction 0 --target y --hp k=5 \
            --hp predictor_type=binary_classifier --hp index_type=$index \
            && '$ingot' predict --local --model '$work/knn.ingot' --file '$query'")
        cat > "$work/peer.py" <<PY
import sys, time
import numpy as np
import pandas as pd
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
frame = pd.read_csv(sys.argv[1])
y = frame.pop("y").to_numpy()
queries = pd.read_csv(sys.argv[2]).drop(columns=["y"]).to_numpy(dtype=np.float64)
scaler = StandardScaler().fit(frame.to_numpy(dtype=np.float64))
x = scaler.transform(frame.to_numpy(dtype=np.float64))
start = time.perf_counter()
model = KNeighborsClassifier(n_neighbors=5).fit(x, y)
model.predict_proba(scaler.transform(queries))
print(f"{time.perf_counter() - start:.3f}")
PY
        peer_s=$(seconds "$python" "$work/peer.py" "$data" "$query")
        peer_fit_s=$(tail -n 1 "$work/last.out")
        ratio=$(echo "scale=2; $ingot_s / $peer_s" | bc)
        results+=("| knn | $index index, k=5, fit $rows + predict $queries rows vs KNeighborsClassifier(auto) | $(printf '%.2f' "$ingot_s") | $(printf '%.2f' "$peer_s") | $ratio | - | $peer_fit_s |")
        echo "${results[-1]}" >&2
    done
}

# Random forest on RF_ROWS rows (200k by default), 50 trees of depth <= 12 on both sides (so
# scikit-learn finishes in minutes), max_features sqrt (classification) / all (regression),
# bootstrap and out-of-bag score on both.
bench_random_forest() {
    local rows=${RF_ROWS:-200000} binary regression
    binary=$(generate binary "$rows" "$COLS")
    regression=$(generate regression "$rows" "$COLS")
    compare random-forest "classifier, $rows rows, 50 trees, depth 12, sqrt features vs RandomForestClassifier" "$binary" \
        "--target y --hp num_trees=50 --hp max_depth=12 --hp predictor_type=binary_classifier" \
        "from sklearn.ensemble import RandomForestClassifier
RandomForestClassifier(n_estimators=50, max_depth=12, max_features='sqrt', oob_score=True, n_jobs=$THREADS, random_state=0).fit(x, y)"
    compare random-forest "regressor, $rows rows, 50 trees, depth 12, all features vs RandomForestRegressor" "$regression" \
        "--target y --hp num_trees=50 --hp max_depth=12 --hp predictor_type=regressor" \
        "from sklearn.ensemble import RandomForestRegressor
RandomForestRegressor(n_estimators=50, max_depth=12, max_features=1.0, oob_score=True, n_jobs=$THREADS, random_state=0).fit(x, y)"
}

# Random cut forest against its closest scikit-learn peer, IsolationForest: the same number of
# trees and samples per tree; both fit and then score every training row (Ingot does that to
# set its mean + 3 sigma anomaly threshold, so the peer does the same work).
bench_random_cut_forest() {
    local rows=${RCF_ROWS:-200000} data
    data=$(generate blobs "$rows" "$COLS")
    compare random-cut-forest "$rows rows, 100 trees of 256 samples, fit + score all rows vs IsolationForest" "$data" \
        "--hp num_trees=100 --hp sample_size=256" \
        "from sklearn.ensemble import IsolationForest
IsolationForest(n_estimators=100, max_samples=256, n_jobs=$THREADS, random_state=0).fit(x).score_samples(x)"
}

selected=("$@")
[ ${#selected[@]} -eq 0 ] && selected=("${ALGORITHMS[@]}")
for name in "${selected[@]}"; do
    "bench_$name"
done
echo
echo "$ROWS rows x $COLS features, $THREADS threads ($(nproc) CPUs on this machine); seconds are whole-process wall time"
echo
echo "| algorithm | case | Ingot s | scikit-learn s | ratio | Ingot fit-only s | scikit-learn fit-only s |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${results[@]}"
