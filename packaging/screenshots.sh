#!/usr/bin/env bash
# Takes the screenshots in docs/screenshots/ from the Fashion-MNIST demo project.
#
# Runs `traclens --demo` under Xvfb with the hidden --screenshot-dir option: the app opens
# (and if needed imports, trains and computes) the demo project, waits for the influence
# engine, picks a representative query and review item, grabs every view, opens and grabs
# each dialog (dialog-new-project, dialog-train-model, dialog-cross-validate,
# dialog-import-model, dialog-evaluation and dialog-evaluation-noise-type with its list open,
# taken from the screen) and quits. It
# does so twice, in a 1280x720 and a 1920x1080 window (a small laptop and a desktop):
# <out>/<view>-1280x720.png and <out>/<view>-1920x1080.png. The first run trains and
# computes (minutes); later runs reuse the demo project in
# $XDG_DATA_HOME/TracLens/TracLens/demo. With a project file as third argument, that
# project is shown instead of the demo (open it from a copy: it is opened for writing).
# The settings (recent projects, thumbnail size, ...) are a fresh, temporary set.
#
# Usage: packaging/screenshots.sh [build-dir] [out-dir] [project]
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

project=${3:-}
if [ -n "$project" ]; then
  source_args=("$(cd "$(dirname "$project")" && pwd)/$(basename "$project")")
else
  source_args=(--demo)
fi

mkdir -p "$out"
# A fixed style and font size make screenshots comparable between machines.
export QT_QPA_PLATFORM=xcb
export QT_SCALE_FACTOR=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Settings of this run only: no recent projects or window sizes from the desktop.
export XDG_CONFIG_HOME=$tmp/config
for size in 1280x720 1920x1080; do
  mkdir -p "$tmp/$size"
  timeout "${SCREENSHOT_TIMEOUT:-3600}" \
    xvfb-run -a -s "-screen 0 ${size}x24" "$app" "${source_args[@]}" --screenshot-dir "$tmp/$size" \
    --screenshot-size "$size" --screenshot-evaluation "$root/docs/evaluation/report.json"
  for shot in "$tmp/$size"/*.png; do
    mv "$shot" "$out/$(basename "$shot" .png)-$size.png"
  done
done
echo "screenshots: wrote $(ls "$out"/*-1280x720.png "$out"/*-1920x1080.png | wc -l) images to $out"
ls -l "$out"/*-1280x720.png "$out"/*-1920x1080.png
