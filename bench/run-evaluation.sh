#!/usr/bin/env bash
# Mislabel-detection evaluation on Fashion-MNIST with 10% injected label noise:
# import, flip labels, train, compute TracIn factors, rank, study checkpoint policies,
# then the cleaning loop (review top X% of the queue or a random X%, retrain).
# Writes docs/evaluation/{report.md,report.json,*.png}.
#
#   sudo bash bench/run-evaluation.sh       # fresh Debian 12: packages, build, evaluation
#   WORK=/var/tmp/tl-eval bash bench/run-evaluation.sh --threads 2
#
# Installs the Debian packages it needs (packaging/install-deps.sh; root only for apt-get)
# and builds traclens-cli in BUILD_DIR (default: build) first; both are quick when done.
# Extra arguments go to `traclens-cli evaluate` (e.g. --train-limit 5000 for a quick run;
# then set OUT to another folder, so the committed report in docs/evaluation stays).
# The work directory keeps the project and models: a rerun with the same settings
# resumes and only redraws the report. The full run takes about 1.5 hours on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
cd "$root"
bash packaging/install-deps.sh
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" -j"$(nproc)" --target traclens-cli
cli="$build/app/cli/traclens-cli"
dataset="${DATASET:-/usr/share/datasets/fashion-mnist}"
work="${WORK:-${TMPDIR:-/tmp}/traclens-evaluation}"
out="${OUT:-docs/evaluation}"
start=$(date +%s)
"$cli" evaluate --dataset "$dataset" --noise 0.1 --out "$out" --work "$work" "$@"
echo "run-evaluation: $(( $(date +%s) - start )) s wall clock (work directory: $work)"
