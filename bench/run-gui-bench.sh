#!/usr/bin/env bash
# Desktop-app benchmark on Fashion-MNIST (Debian package dataset-fashion-mnist):
#   1. click → four grids painted, with 60 000 training examples (target ≤ 100 ms);
#   2. the longest GUI event-loop stall while the worker computes factors (target ≤ 50 ms).
# Builds a project with the CLI (import, train 3 epochs, compute) unless one exists, and a
# copy of it with a second model (1 epoch, another seed) whose factors are not computed yet,
# for the app to compute while it is measured. Runs under Xvfb when xvfb-run is there,
# else on the offscreen platform.
# Usage: bash bench/run-gui-bench.sh [build dir] [project file]   (after a build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PROJECT=${2:-${TMPDIR:-/tmp}/traclens-bench/fashion-mnist.traclens}
CLI="$BUILD/app/cli/traclens-cli"
BENCH="$BUILD/bench/bench_gui"
[ -x "$BENCH" ] || { echo "run-gui-bench: $BENCH not found; build the bench_gui target first" >&2; exit 1; }
. bench/fashion-mnist-project.sh
ensure_fashion_mnist_project "$CLI" "$PROJECT"
# The project to compute: the same data, a new model without factors. Its training is not
# measured; only the app's computation is.
COMPUTE="$(dirname "$PROJECT")/gui-bench-compute.traclens"
rm -f "$COMPUTE" "$COMPUTE"-wal "$COMPUTE"-shm "$COMPUTE".lock
rm -rf "$COMPUTE".d
rm -rf "$COMPUTE.d"; cp "$PROJECT" "$COMPUTE"; cp -r "$PROJECT.d" "$COMPUTE.d"  # models live in the .d folder, named relative to the project
"$CLI" train "$COMPUTE" --epochs 1 --seed 7 --name second-model --quiet
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1-3 /proc/loadavg)"
if command -v xvfb-run >/dev/null; then
  QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" "$BENCH" "$PROJECT" --compute "$COMPUTE" "${@:3}"
else
  QT_QPA_PLATFORM=offscreen "$BENCH" "$PROJECT" --compute "$COMPUTE" "${@:3}"
fi
