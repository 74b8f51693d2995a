#!/usr/bin/env bash
# Failure detection as built (core/distributed): a worker SIGKILLed midway, then rank 0
# SIGKILLed midway; prints how long the survivors took to stop and what they said.
# Usage: failure_detection.sh <traclens-cli> <project without factors> [heartbeat timeout s]
set -uo pipefail
CLI=$1; PROJECT=$2; HB=${3:-10}
WORK=$(mktemp -d)
now() { date +%s.%N; }
run() { # $1 = rank to kill
  cp "$PROJECT" "$WORK/p.traclens"; rm -rf "$WORK/p.traclens.d"; cp -r "$PROJECT.d" "$WORK/p.traclens.d" 2>/dev/null
  local port=$(( 30000 + RANDOM % 20000 )) pids=()
  for r in 0 1 2; do
    RANK=$r WORLD_SIZE=3 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
      "$CLI" compute "$WORK/p.traclens" --distributed --threads 1 --chunk 256 --batch 64 \
      --heartbeat-timeout "$HB" --progress-lines > "$WORK/out$r" 2> "$WORK/err$r" &
    pids+=($!)
  done
  # Midway: once rank 0 has committed a few chunks.
  until [ "$(grep -c 'TracIn factors' "$WORK/err0" 2>/dev/null)" -ge 3 ]; do sleep 0.05; done
  local t0; t0=$(now)
  kill -9 "${pids[$1]}"
  for r in 0 1 2; do
    [ "$r" = "$1" ] && continue
    wait "${pids[$r]}"; local code=$?
    printf 'rank %d stopped %.2f s after the kill (exit %d): %s\n' "$r" "$(echo "$(now) - $t0" | bc)" "$code" \
      "$(grep -v '^progress' "$WORK/err$r" | tail -1 | cut -c1-160)"
  done
}
echo "== worker (rank 1) killed, --heartbeat-timeout $HB"; run 1
echo "== coordinator (rank 0) killed"; run 0
rm -rf "$WORK"
