#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each one for a bounded
# number of executions or time, starting from the seed corpus in tests/fuzz/corpus.
#
#   tests/fuzz/run-fuzzers.sh                 # 1,000,000 runs each, at most 15 min each
#   RUNS=200000 MAX_SECONDS=120 tests/fuzz/run-fuzzers.sh csvmanifest
#
# Environment: BUILD_DIR (default build-fuzz), JOBS (default 2), RUNS, MAX_SECONDS,
# MAX_LEN (default 4096: manifests, model JSON and IDX headers plus a few gzip blocks all
# fit; longer inputs only repeat rows and cost time; fuzz_project takes 32768, room for
# its 21 kB seed project, made by make-project-seed.sh).
# Each run logs `uptime` before and after (the machine's load), executions and seconds.
# Needs clang and libclang-rt-14-dev (apt-get install -y clang libclang-rt-14-dev).
# New inputs found go to $BUILD_DIR/corpus/<target>, never into the repository; a crash
# leaves its input as $BUILD_DIR/crash-* and the script exits non-zero.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
build_dir=${BUILD_DIR:-$source_dir/build-fuzz}
jobs=${JOBS:-2}
runs=${RUNS:-1000000}
max_seconds=${MAX_SECONDS:-900}
max_len=${MAX_LEN:-4096}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(csvmanifest idxfile modelspec project)

command -v clang++ >/dev/null || { echo "run-fuzzers: clang++ not found (apt-get install -y clang libclang-rt-14-dev)" >&2; exit 2; }

CC=clang CXX=clang++ cmake -S "$source_dir" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTRACLENS_BUILD_FUZZERS=ON -DTRACLENS_BUILD_TESTS=OFF -DTRACLENS_BUILD_GUI=OFF -DTRACLENS_BUILD_BENCH=OFF >/dev/null
cmake --build "$build_dir" -j "$jobs" --target $(printf 'fuzz_%s ' "${targets[@]}")

status=0
for t in "${targets[@]}"; do
  work="$build_dir/corpus/$t"
  mkdir -p "$work"
  log="$build_dir/fuzz_$t.log"
  len=$max_len
  [ "$t" != project ] || len=${MAX_LEN:-32768}
  echo "== fuzz_$t: up to $runs runs / $max_seconds s; load before: $(uptime)"
  # detect_leaks=0: Qt's and OpenCV's one-time global allocations are not ours.
  ( cd "$build_dir" && ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "$build_dir/tests/fuzz/fuzz_$t" -runs="$runs" -max_total_time="$max_seconds" -max_len="$len" \
      -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "$work" "$here/corpus/$t" ) >"$log" 2>&1 || status=1
  done_line=$(grep -E '^(Done|#[0-9]+ +DONE)' "$log" | tail -1 || true)
  execs=$(grep -E 'stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
  echo "   executions: ${execs:-?}  ${done_line}; load after: $(uptime)"
  grep -E 'ERROR|SUMMARY|crash-' "$log" | head -5 || true
done
exit $status
