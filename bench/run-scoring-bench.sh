#!/usr/bin/env bash
# Raw vs normalised TracIn on Fashion-MNIST: which one explains a prediction (the
# influence view's default; docs/influence-default.md). Builds the project with the CLI
# unless one exists, then bench_scoring over 1,000 test queries; then the same on a
# synthetic project with planted clusters (a second data set, no images).
# Usage: bash bench/run-scoring-bench.sh [build dir] [project file]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PROJECT=${2:-${TMPDIR:-/tmp}/traclens-bench/fashion-mnist.traclens}
CLI="$BUILD/app/cli/traclens-cli"
. bench/fashion-mnist-project.sh
ensure_fashion_mnist_project "$CLI" "$PROJECT"
"$BUILD/bench/bench_scoring" "$PROJECT" --queries 1000 --k 10
SYNTH="$(dirname "$PROJECT")/scoring-synth.traclens"
rm -rf "$SYNTH" "$SYNTH.d"
"$CLI" synth "$SYNTH" --train 60000 --test 1000 --quiet > /dev/null
"$BUILD/bench/bench_scoring" "$SYNTH" --queries 1000 --k 10
