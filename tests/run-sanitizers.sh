#!/usr/bin/env bash
# Builds TracLens with gcc's AddressSanitizer + UndefinedBehaviorSanitizer and runs the
# test suite under them.
#
#   tests/run-sanitizers.sh                     # whole suite incl. GUI tests (heavy build)
#   tests/run-sanitizers.sh -R 'csvmanifest|idxfile|imagedecoder|dataset'   # ctest filter
#   BUILD_ONLY=1 tests/run-sanitizers.sh        # build only (e.g. in the background first)
#
# Environment: BUILD_DIR (default build-asan), JOBS (default 2), TARGETS (ninja targets to
# build; default: everything, so every ctest test exists), TRACLENS_BUILD_GUI (default ON:
# the UI tests are part of the suite), TEST_TIMEOUT (per-test limit, default 1800 s: the
# sanitized training tests are several times slower than the 300 s of a normal build),
# BUILD_ONLY. Extra arguments go to ctest.
#
# Suppressions and options, and why:
# - ASAN_OPTIONS=detect_leaks=0: LibTorch, Qt and OpenBLAS keep one-time global allocations
#   (thread pools, operator registries, plugin caches) that LeakSanitizer reports as leaks
#   at exit. Our own objects are owned by unique_ptr/RAII; leaks are not what this run is for.
# - new_delete_type_mismatch=0: LibTorch (not instrumented) frees some objects through a base
#   type without a virtual destructor in its registries.
# - UBSAN_OPTIONS=halt_on_error=1: any UB report fails the test that triggered it.
# - Child processes (traclens-cli started by test_cli, test_crashsafety, test_projectlock,
#   ..., and forked children) may have their stderr swallowed by a test, or a failing exit
#   expected by it. So ASan's log_path sends every ASan report to
#   $BUILD_DIR/sanitizer-reports/ (any file there fails the run; its first lines are
#   printed), and UBSan aborts (abort_on_error=1): its default exit code on an error is 1,
#   the same as the CLI's own error exit, which a test expecting a refusal would accept.
#   gcc's libubsan, loaded beside libasan, ignores log_path: UBSan reports go to stderr.
# LibTorch, Qt, OpenCV and SQLite come from Debian and are not instrumented; only TracLens's
# own code is checked.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/.." && pwd)
build_dir=${BUILD_DIR:-$source_dir/build-asan}
jobs=${JOBS:-2}
# NO_MANUAL_VECTORIZATION: hnswlib 0.6.2 (Debian's, header-only, so compiled into
# core/index/vectorindex.cpp and instrumented) prefetches the neighbour after the last one in
# searchBaseLayer (`*(datal + j + 1)`, hnswalg.h:214), a 4-byte read past the link list
# that ASan reports as a heap-buffer-overflow during every index build. Known upstream
# (nmslib/hnswlib#107, #578; fix PRs #459, #628 not merged); hnswlib's own sanitizer
# builds turn the prefetches off the same way. It also selects hnswlib's scalar distance
# code, which TracLens does not use (its spaces bring their own distance functions).
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1 -DNO_MANUAL_VECTORIZATION"

cmake -S "$source_dir" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DTRACLENS_BUILD_GUI=${TRACLENS_BUILD_GUI:-ON} -DTRACLENS_BUILD_BENCH=OFF \
  -DTRACLENS_TEST_TIMEOUT=${TEST_TIMEOUT:-1800} >/dev/null
if [ -n "${TARGETS:-}" ]; then
  cmake --build "$build_dir" -j "$jobs" --target $TARGETS
else
  cmake --build "$build_dir" -j "$jobs"
fi
[ -z "${BUILD_ONLY:-}" ] || exit 0

reports="$build_dir/sanitizer-reports"
rm -rf "$reports"
mkdir -p "$reports"
export ASAN_OPTIONS=detect_leaks=0:new_delete_type_mismatch=0:abort_on_error=1:strict_string_checks=1:log_path=$reports/asan
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1
cd "$build_dir"
status=0
ctest --output-on-failure -j 1 "$@" || status=$?
if [ -n "$(ls -A "$reports")" ]; then
  echo "run-sanitizers: sanitizer reports in $reports:" >&2
  for f in "$reports"/*; do echo "== $f" >&2; head -40 "$f" >&2; done
  status=1
else
  echo "run-sanitizers: no ASan report (tests and their child processes)"
fi
exit $status
