#!/usr/bin/env bash
# Writes the seed of fuzz_project: a synthetic project small enough for libFuzzer to
# mutate (12 training and 4 test examples, 3 classes, embedding 4, 2 checkpoints) with
# 512-byte pages, so that most mutations land in a page that holds rows.
#
#   tests/fuzz/make-project-seed.sh build/app/cli/traclens-cli
set -euo pipefail
cli=${1:?usage: make-project-seed.sh <traclens-cli>}
here=$(cd "$(dirname "$0")" && pwd)
out="$here/corpus/project/tiny.sqlite"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$cli" synth "$tmp/p.traclens" --train 12 --test 4 --classes 3 --dim 4 --checkpoints 2 --clusters-per-class 1 --quiet >/dev/null
python3 - "$tmp/p.traclens" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode = DELETE")
db.execute("PRAGMA page_size = 512")
db.execute("VACUUM")
db.close()
PY
mkdir -p "$(dirname "$out")"
cp "$tmp/p.traclens" "$out"
ls -l "$out"
