#!/usr/bin/env bash
# Mislabel-detection evaluation on Fashion-MNIST with 10% injected label noise:
# import, flip labels, train, compute TracIn factors, rank, study checkpoint policies,
# then the cleaning loop (review top X% of the queue or a random X%, retrain).
# Writes docs/evaluation/{report.md,report.json,*.png}.
#
#   bash bench/run-evaluation.sh            # after a build (BUILD_DIR, default: build)
#   WORK=/var/tmp/tl-eval bash bench/run-evaluation.sh --threads 2
#
# Extra arguments go to `traclens-cli evaluate` (e.g. --train-limit 5000 for a quick run).
# The work directory keeps the project and models: a rerun with the same settings
# resumes and only redraws the report.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
cli="$build/app/cli/traclens-cli"
if [[ ! -x "$cli" ]]; then
  echo "run-evaluation: $cli not found; build first (cmake -S . -B build -G Ninja && ninja -C build traclens-cli)" >&2
  exit 2
fi
dataset="${DATASET:-/usr/share/datasets/fashion-mnist}"
work="${WORK:-${TMPDIR:-/tmp}/traclens-evaluation}"
cd "$root"
start=$(date +%s)
"$cli" evaluate --dataset "$dataset" --noise 0.1 --out docs/evaluation --work "$work" "$@"
echo "run-evaluation: $(( $(date +%s) - start )) s wall clock (work directory: $work)"
