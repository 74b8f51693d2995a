#!/usr/bin/env bash
# Engine benchmark on Fashion-MNIST (Debian package dataset-fashion-mnist):
# builds a project with the CLI (import, train 3 epochs, compute) unless one exists,
# then prints inference vs factor-computation rate, exact query latency and memory.
# Usage: bash bench/run-engine-bench.sh [build dir] [project file]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PROJECT=${2:-${TMPDIR:-/tmp}/traclens-bench/fashion-mnist.traclens}
CLI="$BUILD/app/cli/traclens-cli"
mkdir -p "$(dirname "$PROJECT")"
if ! "$CLI" info "$PROJECT" --json --quiet 2>/dev/null | grep -q '"factors_complete": true'; then
  "$CLI" import "$PROJECT" /usr/share/datasets/fashion-mnist --quiet
  "$CLI" info "$PROJECT" --json | tr -d ' \n' | grep -q '"models":\[\]' && /usr/bin/time -v "$CLI" train "$PROJECT" --epochs 3 2>&1 | grep -E "epoch|model|Elapsed|Maximum resident"
  "$CLI" compute "$PROJECT" --quiet
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
"$BUILD/bench/bench_engine" "$PROJECT" "${@:3}"
