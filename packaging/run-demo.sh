#!/usr/bin/env bash
# Fresh Debian 12 → installed dependencies, a Release build, and the demo on
# Fashion-MNIST (from the Debian package dataset-fashion-mnist). With a display the
# desktop app opens on the demo project; without one the command-line demo runs.
# Usage: sudo bash packaging/run-demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x build/app/gui/traclens ]; then
  exec build/app/gui/traclens --demo
fi
# Three fixed epochs, as the app's demo: a first look within minutes. Without --epochs
# the command-line demo trains until held-out accuracy stops improving (up to an hour).
exec build/app/cli/traclens-cli demo --epochs 3
