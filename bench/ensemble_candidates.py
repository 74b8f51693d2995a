"""Other ways to pool the ensemble's estimates, scored on finished evaluations without training
again: each estimate is read back from the project (`traclens-cli rank --json`) and the pools are
formed here, so a formula can be tried on an evaluation it was not chosen on before any C++
changes (docs/evaluation/README.md, "A log-odds pool, tested out of sample").

usage: /usr/bin/python3 bench/ensemble_candidates.py WORK_DIR... [--resamples N]
  WORK_DIR       an evaluation's work directory (see bench/evaluation_work.py); one or more
  --resamples N  also a bootstrap over the examples (seed 7) of each pool − baseline, summed over
                 the evaluations (95 % intervals); default 0 (none)

The estimates, as core/influence/ranking.cpp forms them:
  cv   1 − p[label], out of sample (5-fold cross-validation)        rank --ranking cv-self-confidence
  nb   1 − label agreement of the 20 embedding neighbours (weighted)  rank --ranking neighbours
  last 1 − p[label] of the last checkpoint, in sample                rank --ranking loss --checkpoints
                                                                       last-1 --weighting uniform (−log p)
  mr   rank fraction of the out-of-sample margin                     rank --ranking cv-margin
The pools:
  ensemble       (cv + nb + last + mr) / 4: formula 2, the default below 18 % estimated wrong
                 when the pool was tested. Formula 3 (and formula 4's pool) forms cv and mr from the fold
                 model's later checkpoints, which `rank` does not list one by one:
                 bench/checkpoint_mean_study.py reads them from the project and compares.
  logit-pool     logit(cv) + logit(last) + logit(nb); p clipped to [1e-6, 1 − 1e-6], nb to
                 [1/40, 39/40] (half of one of the 20 neighbours)
  logit-pool-2   logit(cv) + logit(last)
  project-ensemble  the project's own ensemble as `rank --ranking ensemble` gives it (today's
                 formula 4, the default queue's order where the ensemble is the default: the
                 rank fraction of formula 3's pool plus that of cv, the candidate registered
                 for seeds 11-15, docs/evaluation/README.md, "The ensemble's order and the
                 baseline's"). Evaluations scored with formula 3 read here with a formula-4
                 build give that candidate's figures.
Prints the flips each finds in the top of every budget and the difference to the baseline
(cv-self-confidence), per evaluation and summed, and with several evaluations the mean share
of their flips in each top; ties in id order as the queue breaks them.
Needs python3-numpy.
"""
import os, sys
import numpy as np
from evaluation_work import found, open_evaluation, rank_fraction, ranked

args = sys.argv[1:]
resamples = 0
if "--resamples" in args:
    i = args.index("--resamples")
    if i + 1 >= len(args) or not args[i + 1].isdigit():
        sys.exit("--resamples needs a whole number")
    resamples = int(args[i + 1])
    del args[i:i + 2]
bad = [a for a in args if not os.path.isdir(a)]
if not args or bad:
    sys.exit(f"{bad[0]}: not a directory" if bad else __doc__)

POOLS = ["cv-self-confidence", "ensemble", "logit-pool", "logit-pool-2", "project-ensemble"]


def logit(q, lo):
    q = np.clip(q, lo, 1.0 - lo)
    return np.log(q / (1.0 - q))



def load(work):
    project, report, flipped = open_evaluation(work)

    def scores(ranking, *extra):
        s = {e["id"]: e["score"] for e in ranked(project, ranking, *extra)}
        return np.array([s[i] for i in ids])

    first = {e["id"]: e["score"] for e in ranked(project, "cv-self-confidence")}
    ids = np.array(sorted(first))
    cv = np.array([first[i] for i in ids])
    nb = scores("neighbours")
    last = 1.0 - np.exp(-scores("loss", "--checkpoints", "last-1", "--weighting", "uniform"))
    mr = rank_fraction(scores("cv-margin"), ids)
    ensemble = (cv + nb + last + mr) / 4.0
    own = scores("ensemble")
    pools = {"cv-self-confidence": cv, "ensemble": ensemble,
             "logit-pool": logit(cv, 1e-6) + logit(last, 1e-6) + logit(nb, 1.0 / 40.0),
             "logit-pool-2": logit(cv, 1e-6) + logit(last, 1e-6),
             "project-ensemble": own}
    return {"work": work, "budgets": report["budgets"], "ids": ids, "pools": pools,
            "isflip": np.array([int(i) in flipped for i in ids]), "flips": len(flipped)}



runs = [load(w) for w in args]
budgets = runs[0]["budgets"]
if any(r["budgets"] != budgets for r in runs):
    sys.exit("the evaluations have different budgets: " + ", ".join(f"{r['work']} {r['budgets']}" for r in runs))
head = " ".join(f"{b:>7.0%}" for b in budgets)
total = {p: np.zeros(len(budgets), int) for p in POOLS}
share = {p: np.zeros(len(budgets)) for p in POOLS}  # summed share of each run's flips
for run in runs:
    everyone = np.arange(len(run["ids"]))
    print(f"{run['work']}: {len(run['ids'])} examples, {run['flips']} flips; flips found in the top")
    print(f"  {'':20s}{head}   − baseline")
    base = found(run, run["pools"]["cv-self-confidence"], everyone)
    for p in POOLS:
        f = found(run, run["pools"][p], everyone)
        total[p] += f - base
        share[p] += f / run["flips"]
        print(f"  {p:20s}" + " ".join(f"{x:>7d}" for x in f) + "   " + " ".join(f"{x:+d}" for x in f - base))
if len(runs) > 1:
    print(f"summed over the {len(runs)} evaluations, − baseline")
    for p in POOLS[1:]:
        print(f"  {p:20s}" + " ".join(f"{x:>+7d}" for x in total[p]))
    # The registered readings ask for the mean share of the flips in the top 10 %, one
    # run weighing as much as another.
    print(f"mean share of the flips found, over the {len(runs)} evaluations")
    for p in POOLS:
        print(f"  {p:20s}" + " ".join(f"{x / len(runs):>7.2%}" for x in share[p]))
if resamples:
    rng = np.random.default_rng(7)
    draws = {p: [] for p in POOLS[1:]}
    for _ in range(resamples):
        d = {p: np.zeros(len(budgets), int) for p in POOLS[1:]}
        for run in runs:
            idx = rng.integers(0, len(run["ids"]), len(run["ids"]))
            base = found(run, run["pools"]["cv-self-confidence"], idx)
            for p in POOLS[1:]:
                d[p] += found(run, run["pools"][p], idx) - base
        for p in POOLS[1:]:
            draws[p].append(d[p])
    print(f"bootstrap, {resamples} resamples, 95 % intervals of pool − baseline (summed)")
    for p in POOLS[1:]:
        lo, hi = np.percentile(np.array(draws[p]), [2.5, 97.5], axis=0)
        print(f"  {p:20s}" + "  ".join(f"{b:.0%} {int(np.floor(a)):+d}..{int(np.ceil(c)):+d}"
                                          for b, a, c in zip(budgets, lo, hi)))
