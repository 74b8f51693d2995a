#!/usr/bin/env bash
# Fresh Debian 12 → installed dependencies, a Release build and the whole test suite.
# Usage: sudo bash packaging/run-tests.sh   (root is needed only to install packages)
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)"
