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
. bench/fashion-mnist-project.sh
ensure_fashion_mnist_project "$CLI" "$PROJECT"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
"$BUILD/bench/bench_engine" "$PROJECT" "${@:3}"
