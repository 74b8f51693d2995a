"""How far is a difference in flips found from noise? A bootstrap over the training examples
of one evaluation: resample the examples with replacement, rank each resample by the stored
scores of two rankings, and count the flips each finds in the top of every budget
(docs/evaluation/README.md, "What the top of the queue holds besides flips").

usage: /usr/bin/python3 bench/recall_bootstrap.py WORK_DIR [RANKING_A] [RANKING_B] [RESAMPLES]
  WORK_DIR   an evaluation's work directory (its evaluation.traclens project; the report.json
             it names as "evaluation_report" gives the flips and budgets)
  RANKING_A  default: ensemble;  RANKING_B  default: cv-self-confidence (the baseline)
  RESAMPLES  default: 400 (seed 7)
Prints A − B in flips at each budget, measured and as a 95 % bootstrap interval. Scores come
from `traclens-cli rank --json` (build/app/cli/traclens-cli, or $TRACLENS_CLI), ties in id
order as the queue breaks them. Needs python3-numpy.
"""
import json, os, sqlite3, subprocess, sys
import numpy as np

work = sys.argv[1]
a_name = sys.argv[2] if len(sys.argv) > 2 else "ensemble"
b_name = sys.argv[3] if len(sys.argv) > 3 else "cv-self-confidence"
resamples = int(sys.argv[4]) if len(sys.argv) > 4 else 400
cli = os.environ.get("TRACLENS_CLI", os.path.join(os.path.dirname(__file__), "..", "build", "app", "cli", "traclens-cli"))
project = os.path.join(work, "evaluation.traclens")
(report_path,) = sqlite3.connect(f"file:{project}?mode=ro", uri=True).execute(
    "select value from meta where key = 'evaluation_report'").fetchone()
report = json.load(open(report_path))
budgets = report["budgets"]
flipped = {f["id"] for f in report["noise"]["flips"]}


def scores(ranking):
    out = subprocess.run([cli, "rank", project, "--ranking", ranking, "--top", "0", "--json", "--quiet"],
                         capture_output=True, text=True, check=True).stdout
    return {e["id"]: e["score"] for e in json.loads(out)["examples"]}


sa, sb = scores(a_name), scores(b_name)
ids = np.array(sorted(sa))
va, vb = np.array([sa[i] for i in ids]), np.array([sb[i] for i in ids])
isflip = np.array([int(i) in flipped for i in ids])
n = len(ids)


def found(v, idx):
    # Highest score first, ties by id (idx keeps duplicates of a resample apart by position).
    order = np.lexsort((ids[idx], -v[idx]))
    hits = isflip[idx][order]
    return np.array([int(hits[:int(round(n * b))].sum()) for b in budgets])


measured = found(va, np.arange(n)) - found(vb, np.arange(n))
rng = np.random.default_rng(7)
diffs = np.array([found(va, idx) - found(vb, idx) for idx in (rng.integers(0, n, n) for _ in range(resamples))])
lo, hi = np.percentile(diffs, 2.5, axis=0), np.percentile(diffs, 97.5, axis=0)
print(f"{a_name} − {b_name}, flips found ({n} examples, {len(flipped)} flips, {resamples} resamples)")
for b, m, l, h in zip(budgets, measured, lo, hi):
    print(f"  top {100 * b:g}%: {m:+d}  (95% interval {l:+.0f} to {h:+.0f})")
