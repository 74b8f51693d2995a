#!/usr/bin/env bash
# Imported-model benchmarks (docs/benchmarks-models.md):
#  A. wrapped torchvision ResNet-18 on generated 64×64 photos: PyTorch eager / scripted /
#     frozen images/s against `traclens-cli compute` vectors/s (bench/model_bench.py);
#  B. Fashion-MNIST self-influence from TorchScript checkpoints: TracLens import +
#     import-model + compute + self-influence against a plain PyTorch script
#     (bench/fmnist_selfinfluence.py);
#  C. first query of a fresh process on a Fashion-MNIST project (made by B).
# Needs python3-torch, python3-torchvision, python3-pil and dataset-fashion-mnist.
# Usage: bash bench/run-model-bench.sh [build dir] [work dir] [threads]
set -euo pipefail
PYTHON=${PYTHON:-/usr/bin/python3}   # Debian's python3-torch, not another interpreter on PATH
cd "$(dirname "$0")/.."
BUILD=${1:-build}
WORK=${2:-${TMPDIR:-/tmp}/traclens-model-bench}
THREADS=${3:-2}
CLI="$BUILD/app/cli/traclens-cli"
mkdir -p "$WORK"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== A. ResNet-18, 64×64 photos"
"$PYTHON" bench/model_bench.py --cli "$CLI" --work "$WORK/a" --images "${IMAGES:-4000}" --threads "$THREADS"

echo "== B. Fashion-MNIST self-influence"
"$PYTHON" bench/fmnist_selfinfluence.py --cli "$CLI" --work "$WORK/b" --threads "$THREADS"

echo "== C. first query in a fresh process (project of B: 60k train + 10k test)"
PROJECT="$WORK/b/fm-r0.traclens"
ID=$(sqlite3 "$PROJECT" "SELECT id FROM examples WHERE split = 1 ORDER BY id LIMIT 1" 2>/dev/null || echo 60001)
for i in 1 2 3 4 5; do
  /usr/bin/time -o "$WORK/time.txt" -f "%e %U %M" "$CLI" query "$PROJECT" --example "$ID" -k 10 --json >"$WORK/query.json"
  "$PYTHON" -c 'import json,sys; q=json.load(open(sys.argv[1])); w,u,m=open(sys.argv[2]).read().split()
print("  load %.0f ms, query %.1f ms, whole process %.0f ms wall (%.0f ms user), peak %d MiB"
      % (1000*q["load_seconds"], q["query_ms"], 1000*float(w), 1000*float(u), int(m)//1024))' "$WORK/query.json" "$WORK/time.txt"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
