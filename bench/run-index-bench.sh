#!/usr/bin/env bash
# Index benchmark (issue #4): build time, peak memory, query latency and recall@10 of the
# approximate TracIn / embedding index against exact lists, for both backends (cells, the
# default, and hnswlib graphs), at
#   - 60 000 training examples: Fashion-MNIST (a copy of a computed project), and
#   - 1 000 000 training examples: a synthetic project with planted clusters,
# plus the exact-vs-index latency sweep behind kExactSearchBelow.
# Usage: bash bench/run-index-bench.sh [build dir] [Fashion-MNIST project] [work dir]
#   The Fashion-MNIST project defaults to the one run-engine-bench.sh builds; it is
#   copied first (the index is written beside the project file).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
FM=${2:-${TMPDIR:-/tmp}/traclens-bench/fashion-mnist.traclens}
WORK=${3:-${TMPDIR:-/tmp}/traclens-index-bench}
CLI="$BUILD/app/cli/traclens-cli"
BENCH="$BUILD/bench/bench_index"
mkdir -p "$WORK"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ -f "$FM" ]; then
  echo "== Fashion-MNIST (60 000 train), cells (default): copy, build, query, recall, threshold sweep"
  cp "$FM" "$WORK/fm.traclens"
  /usr/bin/time -f "index build process: %e s wall, peak RSS %M KiB" \
    "$BENCH" "$WORK/fm.traclens" --rebuild --candidates 1000,5000 --queries 200 --bound \
    --sweep 5000,10000,20000,30000,45000,60000
  echo "== Fashion-MNIST, hnsw"
  /usr/bin/time -f "index build process: %e s wall, peak RSS %M KiB" \
    "$BENCH" "$WORK/fm.traclens" --backend hnsw --rebuild --ef 100,200,400 --queries 200
else
  echo "== Fashion-MNIST: no computed project at $FM (bench/run-engine-bench.sh builds one); skipped"
fi

echo "== synthetic, 1 000 000 train, 10 classes, D=64, 3 checkpoints, 4 planted clusters per class"
if [ ! -f "$WORK/synth1m.traclens" ]; then
  /usr/bin/time -f "synth: %e s wall, peak RSS %M KiB" \
    "$CLI" synth "$WORK/synth1m.traclens" --train 1000000 --test 10000 --classes 10 --dim 64 \
    --checkpoints 3 --clusters-per-class 4 --seed 7 --quiet
fi
for backend in cells hnsw; do
  if [ "$backend" = cells ]; then lists="--candidates 1000,2000,5000"; serve=""; else lists="--ef 100,200,400"; serve="--ef 100"; fi
  echo "== synthetic 1M, $backend: build, query, recall"
  /usr/bin/time -f "index build process: %e s wall, peak RSS %M KiB" \
    "$BENCH" "$WORK/synth1m.traclens" --backend $backend --rebuild $lists --queries 100 --exact-recall
  echo "== synthetic 1M, $backend: serving only (loads the saved index)"
  /usr/bin/time -f "serving process: %e s wall, peak RSS %M KiB" \
    "$BENCH" "$WORK/synth1m.traclens" --backend $backend $serve --queries 100 --no-truth
done
echo "== threshold sweep (first N training rows of the synthetic million, cells)"
"$BENCH" "$WORK/synth1m.traclens" --queries 50 --no-truth --sweep 10000,20000,30000,45000,65000,100000,200000
