#!/usr/bin/env bash
# Distributed compute figures (docs/distributed-engine.md):
#  1. the coordinator's commit capacity (factor rows/s) with workers sending synthetic rows,
#     K=10 and D=64 (built-in CNN, small TorchScript CNNs) or D=512 (ResNet-18);
#  2. one worker's rate (decode + inference + factor rows, 1 thread as on a node running one
#     process per core) for the built-in CNN on 28×28 grey images and for a torchvision
#     ResNet-18 TorchScript model (bench/model_bench.py's, random init) on 64×64 photos;
#  3. an end-to-end run: traclens-cli compute --distributed with 3 processes on this machine.
# Needs python3-torch, python3-torchvision, python3-pil. Usage:
#   bash bench/run-distributed-bench.sh [build dir] [work dir] [images]
set -euo pipefail
PYTHON=${PYTHON:-/usr/bin/python3}
cd "$(dirname "$0")/.."
BUILD=${1:-build}
WORK=${2:-${TMPDIR:-/tmp}/traclens-distributed-bench}
IMAGES=${3:-3000}
CLI="$BUILD/app/cli/traclens-cli"
BENCH="$BUILD/bench/bench_distributed"
mkdir -p "$WORK"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== 1. coordinator commit capacity (synthetic rows, 60,000 examples x 3 checkpoints)"
for d in 64 512; do "$BENCH" commit --workers 2 --examples 60000 --dim "$d" | tail -n +2 | head -1; done

echo "== 2. worker rate"
if [ ! -d "$WORK/photos" ]; then
  "$PYTHON" - "$PWD/bench" "$WORK" "$IMAGES" <<'PY'
import os, sys
sys.path.insert(0, sys.argv[1])
import model_bench as mb
import numpy as np
from PIL import Image
work, n = sys.argv[2], int(sys.argv[3])
mb.make_images(os.path.join(work, "photos"), n)
mb.make_model(os.path.join(work, "resnet18"))
rng = np.random.default_rng(1)
for i in range(n):
    d = os.path.join(work, "grey", "c%d" % (i % 10))
    os.makedirs(d, exist_ok=True)
    Image.fromarray((rng.random((28, 28)) * 255).astype(np.uint8)).save(os.path.join(d, "%05d.png" % i))
PY
fi
rm -f "$WORK"/cnn.traclens* "$WORK"/resnet.traclens*
rm -rf "$WORK"/cnn.traclens.d "$WORK"/resnet.traclens.d
"$CLI" import "$WORK/cnn.traclens" "$WORK/grey" --quiet >/dev/null
"$CLI" train "$WORK/cnn.traclens" --epochs 3 --quiet >/dev/null
"$CLI" import "$WORK/resnet.traclens" "$WORK/photos" --quiet >/dev/null
"$CLI" import-model "$WORK/resnet.traclens" "$WORK/resnet18" --quiet >/dev/null
for t in 1 2; do
  "$BENCH" worker "$WORK/cnn.traclens" --threads "$t" --chunks 1 | tail -n +2
  "$BENCH" worker "$WORK/resnet.traclens" --threads "$t" --chunks 1 --chunk 1024 | tail -n +2
done

echo "== 3. end to end: compute --distributed, 3 processes (rank 0 commits, 2 workers x 1 thread)"
PORT=$(( 29500 + RANDOM % 2000 ))
for r in 0 1 2; do
  RANK=$r WORLD_SIZE=3 MASTER_ADDR=127.0.0.1 MASTER_PORT=$PORT \
    "$CLI" compute "$WORK/cnn.traclens" --distributed --threads 1 --quiet > "$WORK/rank$r.txt" 2>&1 &
done
wait
cat "$WORK/rank0.txt" "$WORK/rank1.txt" "$WORK/rank2.txt"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
