"""How far is a difference in flips found from noise? A bootstrap over the training examples
of one or more evaluations: resample the examples of each with replacement, rank each resample
by the stored scores of two rankings, and count the flips each finds in the top of every budget
(docs/evaluation/README.md, "What the top of the queue holds besides flips"). With several
evaluations (other flips, other training seeds, the same budgets) the differences are summed:
each bootstrap draw resamples every evaluation on its own.

usage: /usr/bin/python3 bench/recall_bootstrap.py WORK_DIR... [RANKING_A] [RANKING_B] [RESAMPLES]
  WORK_DIR   an evaluation's work directory (its evaluation.traclens project; the report.json
             it names as "evaluation_report" gives the flips and budgets); one or more
  RANKING_A  default: ensemble;  RANKING_B  default: cv-self-confidence (the baseline)
  RESAMPLES  default: 400 (seed 7)
Prints A − B in flips at each budget, per evaluation and summed, measured and as a 95 %
bootstrap interval. Scores come from `traclens-cli rank --json` (build/app/cli/traclens-cli,
or $TRACLENS_CLI), ties in id order as the queue breaks them. Needs python3-numpy.
"""
import os, sys
import numpy as np
from evaluation_work import found, open_evaluation, ranked

args = sys.argv[1:]
works = []
while args and os.path.isdir(args[0]):
    works.append(args.pop(0))
if not works:
    sys.exit(__doc__)
a_name = args[0] if len(args) > 0 else "ensemble"
b_name = args[1] if len(args) > 1 else "cv-self-confidence"
resamples = int(args[2]) if len(args) > 2 else 400


def load(work):
    project, report, flipped = open_evaluation(work)

    def scores(ranking):
        return {e["id"]: e["score"] for e in ranked(project, ranking)}

    sa, sb = scores(a_name), scores(b_name)
    ids = np.array(sorted(sa))
    return {"work": work, "budgets": report["budgets"], "flips": len(flipped), "ids": ids,
            "a": np.array([sa[i] for i in ids]), "b": np.array([sb[i] for i in ids]),
            "isflip": np.array([int(i) in flipped for i in ids])}



def diff(run, idx):
    return found(run, run["a"], idx) - found(run, run["b"], idx)


runs = [load(w) for w in works]
budgets = runs[0]["budgets"]
if any(r["budgets"] != budgets for r in runs):
    sys.exit("the evaluations have different budgets: " + ", ".join(f"{r['work']} {r['budgets']}" for r in runs))
rng = np.random.default_rng(7)
per_run = [np.array([diff(r, rng.integers(0, len(r["ids"]), len(r["ids"]))) for _ in range(resamples)]) for r in runs]


def show(title, measured, draws):
    lo, hi = np.percentile(draws, 2.5, axis=0), np.percentile(draws, 97.5, axis=0)
    print(title)
    for b, m, l, h in zip(budgets, measured, lo, hi):
        print(f"  top {100 * b:g}%: {m:+d}  (95% interval {l:+.0f} to {h:+.0f})")


for r, draws in zip(runs, per_run):
    n = len(r["ids"])
    show(f"{a_name} − {b_name}, flips found ({r['work']}: {n} examples, {r['flips']} flips, {resamples} resamples)",
         diff(r, np.arange(n)), draws)
if len(runs) > 1:
    show(f"summed over the {len(runs)} evaluations", sum(diff(r, np.arange(len(r["ids"]))) for r in runs), sum(per_run))
