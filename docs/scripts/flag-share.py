#!/usr/bin/env python3
"""Share of training examples each flag rule marks, from `traclens-cli rank --json --top 0`
(default order: the score is the loss at the last checkpoint). With --flipped FILE (one
example id per line: the labels flipped on purpose) also precision and recall of the flags.

  traclens-cli rank P.traclens --json --top 0 > rank.json
  python3 docs/scripts/flag-share.py rank.json [--flipped flipped.txt]
"""
import json, math, sys

args = sys.argv[1:]
flips = None
if "--flipped" in args:
    i = args.index("--flipped")
    flips = set(int(x) for x in open(args[i + 1]).read().split())
    del args[i:i + 2]
for path in args:
    ex = json.load(open(path))["examples"]
    n = len(ex)
    print(f"{path}: {n} training examples" + (f", {len(flips)} flipped" if flips else ""))
    rules = [("model predicts another class", lambda e: e["label"] != e["predicted"])]
    for p in (0.5, 0.2, 0.1, 0.05, 0.01):
        rules.append((f"... and label probability < {p:g}",
                      lambda e, t=-math.log(p): e["label"] != e["predicted"] and e["score"] > t))
    for name, rule in rules:
        s = [e for e in ex if rule(e)]
        line = f"  {name:38s} {len(s):6d}  {100 * len(s) / n:5.1f} %"
        if flips:
            tp = sum(e["id"] in flips for e in s)
            line += f"  precision {tp / max(1, len(s)):.2f}  recall {tp / len(flips):.2f}"
        print(line)
