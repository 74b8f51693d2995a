#!/usr/bin/env bash
# Takes the screenshots in docs/screenshots/ from the Fashion-MNIST demo project.
#
# Runs `traclens --demo` under Xvfb with the hidden --screenshot-dir option: the app opens
# (and if needed imports, trains and computes) the demo project, waits for the influence
# engine, picks a representative query and review item, grabs every view into
# <out>/<view>.png and quits. The first run trains and computes (minutes); later runs
# reuse the demo project in $XDG_DATA_HOME/TracLens/TracLens/demo.
#
# Usage: packaging/screenshots.sh [build-dir] [out-dir]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-${BUILD_DIR:-$root/build}}
out=${2:-$root/docs/screenshots}
app=$build/app/gui/traclens

if [ ! -x "$app" ]; then
  echo "screenshots: $app not found; build the 'traclens' target first" >&2
  exit 1
fi
command -v xvfb-run >/dev/null || { echo "screenshots: xvfb-run is missing (apt-get install xvfb xauth)" >&2; exit 1; }

mkdir -p "$out"
# A fixed style and font size make screenshots comparable between machines.
export QT_QPA_PLATFORM=xcb
export QT_SCALE_FACTOR=1
timeout "${SCREENSHOT_TIMEOUT:-3600}" \
  xvfb-run -a -s "-screen 0 1600x1000x24" "$app" --demo --screenshot-dir "$out" \
  --screenshot-evaluation "$root/docs/evaluation/report.json"
echo "screenshots: wrote $(ls "$out"/*.png | wc -l) images to $out"
ls -l "$out"/*.png
