#!/bin/sh
# Fixed 3 epochs against adaptive training on three data sets, in pairs (two single-thread
# runs at a time). Usage: docs/scripts/adaptive-measure.sh CLI DATA OUT
# DATA from docs/scripts/adaptive-datasets.py; OUT receives one report per run.
CLI=$1; DATA=$2; OUT=$3
run() { # name dataset extra-options...
    name=$1; ds=$2; shift 2
    "$CLI" evaluate --dataset "$ds" --out "$OUT/$name" --work "$OUT/$name-work" --quiet --threads 1 \
        --budgets 5,10,20 --cleaning none --no-upper-bound --seed-replicates 0 "$@" > "$OUT/$name.log" 2>&1
}
pair() { # name dataset extra-options...
    name=$1; ds=$2; shift 2
    run "$name-fixed3" "$ds" --epochs 3 "$@" &
    run "$name-adaptive" "$ds" --adaptive "$@" &
    wait
}
pair fmnist /usr/share/datasets/fashion-mnist --train-limit 3000 --test-limit 1000
pair digits "$DATA/digits"
pair shapes "$DATA/shapes"
