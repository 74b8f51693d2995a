#!/usr/bin/env bash
# Training speed of the built-in networks (docs/benchmarks-models.md §7): one epoch of the
# 60,000 Fashion-MNIST training images per network, `traclens-cli train --epochs 1`, timed
# as a whole process (import excluded; model start-up and the checkpoint write included).
# These figures are the per-network epoch times the app's evaluation estimate uses
# (ui/evaluationdialog.cpp trainSecondsPer60kEpoch()).
# Needs dataset-fashion-mnist.
# Usage: bash bench/run-train-bench.sh [build dir] [work dir] [threads] [repeats]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
WORK=${2:-${TMPDIR:-/tmp}/traclens-train-bench}
THREADS=${3:-2}
REPEATS=${4:-2}
CLI="$BUILD/app/cli/traclens-cli"
DATA=/usr/share/datasets/fashion-mnist
rm -rf "$WORK"
mkdir -p "$WORK"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $THREADS threads"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
"$CLI" import "$WORK/fm.traclens" "$DATA" --quiet >/dev/null
for network in cnn bn-cnn vgg; do
  for r in $(seq 1 "$REPEATS"); do
    start=$(date +%s.%N)
    "$CLI" train "$WORK/fm.traclens" --network "$network" --epochs 1 --threads "$THREADS" \
      --name "bench-$network-$r" --quiet >/dev/null
    end=$(date +%s.%N)
    awk -v n="$network" -v r="$r" -v s="$start" -v e="$end" \
      'BEGIN { printf "%-7s repeat %d: %.1f s for one epoch of 60,000 images\n", n, r, e - s }'
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
