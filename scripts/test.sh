#!/usr/bin/env bash
# Runs every test of the workspace. Used by the README and by .ci/run.
#
# Peer comparisons (scikit-learn) run when INGOT_PEER_PYTHON points at a Python with
# scikit-learn and numpy; .ci/run sets that up. Without it those tests say they were skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== architecture invariant: the pure tier never depends on async, SQL or HTTP crates"
for crate in ingot-core ingot-data ingot-metrics ingot-model-format ingot-algo ingot-catalog ingot-algo-conformance ingot-learners ingot-gbdt ingot-explain ingot-monitor ingot-tree-import ingot-onnx; do
    if cargo tree -p "$crate" -e normal --prefix none 2>/dev/null \
        | grep -E '^(tokio|sqlx|axum|hyper|reqwest|object_store|clap) ' ; then
        echo "error: $crate depends on an I/O crate (above)" >&2
        exit 1
    fi
done

echo "== tests"
if command -v cargo-nextest >/dev/null 2>&1; then
    # nextest does not run doctests: run them first, so the run closes on nextest's summary.
    cargo test --workspace --doc --quiet
    cargo nextest run --workspace --no-fail-fast
else
    cargo test --workspace --no-fail-fast
fi
