"""Does averaging the fold models' probabilities over their later checkpoints order the queue
better? Scored on finished evaluations without training again: the ensemble's in-sample terms
come from the project (`traclens-cli rank --json`), the fold models' probabilities at every
checkpoint from the project's crossval_terms table (stored for cv-self-influence), and the
orders are formed here (docs/evaluation/README.md, "The fold models' later checkpoints").

usage: /usr/bin/python3 bench/checkpoint_mean_study.py WORK_DIR... [--cache DIR]
  WORK_DIR     an evaluation's work directory (see bench/evaluation_work.py)
  --cache DIR  keep each project's `rank --json` estimates there (keyed by the project's
               path and size), so a second run over 60,000-image projects takes seconds

The orders (higher = reviewed first; ties by id as the queue breaks them):
  cv-self-confidence  1 − p[label] at the fold model's last checkpoint (the baseline); formed
                      from the table and checked against the project's own ranking
  ensemble            rank fraction of ensemble-v3 + rank fraction of cv-self-confidence: the
                      default below 18 % estimated wrong (formula 4); checked against the
                      project's own `ensemble` ranking to within two places of each rank
                      (the project forms some terms in single precision, which can swap
                      near-ties)
  ensemble-v3         (cv + nb + last + mr) / 4 with cv and mr formed from p̄, the mean of the
                      fold model's probabilities over its last ⌈C/2⌉ of C checkpoints
                      (formula 3, the default before)
  ensemble-v2         the same with the last checkpoint's p (formula 2)
  ensemble-all        the same with p̄ over all C checkpoints
  cv-late             1 − p̄[label] (last ⌈C/2⌉) alone
Prints the flips each finds in the top of every budget and the difference to the baseline,
per evaluation and summed. Needs python3-numpy.
"""
import hashlib, os, sqlite3, sys
import numpy as np
from evaluation_work import found, open_evaluation, rank_fraction, ranked

args = sys.argv[1:]
cache = None
if "--cache" in args:
    i = args.index("--cache")
    if i + 1 >= len(args):
        sys.exit("--cache needs a directory")
    cache = args[i + 1]
    os.makedirs(cache, exist_ok=True)
    del args[i:i + 2]
bad = [a for a in args if not os.path.isdir(a)]
if not args or bad:
    sys.exit(f"{bad[0]}: not a directory" if bad else __doc__)

ORDERS = ["cv-self-confidence", "ensemble", "ensemble-v3", "ensemble-v2", "ensemble-all", "cv-late"]
# Bumped with kEnsembleFormulaVersion (core/influence/ranking.h): the project's own ensemble
# is re-read, the other estimates do not depend on it.
FORMULA = 4


def estimates(project):
    """The project's own rankings the ensemble is built from, by id."""
    key = hashlib.sha1(f"{os.path.abspath(project)}:{os.path.getsize(project)}".encode()).hexdigest()[:16]
    path = os.path.join(cache, key + ".npz") if cache else None
    out = {}
    if path and os.path.exists(path):
        z = np.load(path)
        out = {k: z[k] for k in z.files}

    def scores(ranking, *extra):
        e = ranked(project, ranking, *extra)
        return np.array([x["id"] for x in e]), np.array([x["score"] for x in e])

    wanted = [("cv", "cv-self-confidence", ()), ("nb", "neighbours", ()),
              ("loss", "loss", ("--checkpoints", "last-1", "--weighting", "uniform")),
              ("margin", "cv-margin", ()), (f"ensemble{FORMULA}", "ensemble", ())]
    missing = [w for w in wanted if w[0] not in out]
    for name, ranking, extra in missing:
        ids, s = scores(ranking, *extra)
        order = np.argsort(ids)
        out[name + "_ids"], out[name] = ids[order], s[order]
    if path and missing:
        np.savez(path, **out)
    out["ensemble"], out["ensemble_ids"] = out[f"ensemble{FORMULA}"], out[f"ensemble{FORMULA}_ids"]
    return out


def load(work):
    project, report, flipped = open_evaluation(work)
    db = sqlite3.connect(f"file:{project}?mode=ro", uri=True)
    (run_id,) = db.execute("select max(id) from crossval_runs").fetchone()
    labels = dict(db.execute("select id, current_label from examples where split = 0 and removed = 0"))
    rows = db.execute("select example_id, checkpoint, probs from crossval_terms where run_id = ? "
                      "order by example_id, checkpoint", (run_id,)).fetchall()
    if not rows:
        sys.exit(f"{project}: no cross-validation terms; the evaluation ran without folds (--folds 0), "
                 "and every order here reads the fold models")
    C = 1 + max(r[1] for r in rows)
    ids = np.array(sorted({r[0] for r in rows}))
    if len(rows) != len(ids) * C:
        sys.exit(f"{project}: crossval_terms has {len(rows)} rows for {len(ids)} examples × {C} checkpoints")
    probs = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(ids), C, -1).astype(np.float64)
    y = np.array([labels[i] for i in ids])
    est = estimates(project)
    for k in ("cv", "nb", "loss", "margin", "ensemble"):
        if not np.array_equal(est[k + "_ids"], ids):
            sys.exit(f"{project}: rank --ranking for '{k}' covers other examples than the cross-validation")
    rows_ = np.arange(len(ids))

    def terms(p):
        py = p[rows_, y]
        other = p.copy()
        other[rows_, y] = -1.0
        return 1.0 - py, -(py - other.max(axis=1))

    cv, m = terms(probs[:, -1, :])
    worst = float(np.max(np.abs(cv - est["cv"])))
    if worst > 1e-6:
        sys.exit(f"{project}: 1 − p[label] from crossval_terms differs from cv-self-confidence by {worst:.2g}")
    nb, last = est["nb"], 1.0 - np.exp(-est["loss"])
    late_cv, late_m = terms(probs[:, C - (C + 1) // 2:, :].mean(axis=1))
    all_cv, all_m = terms(probs.mean(axis=1))
    pool = (late_cv + nb + last + rank_fraction(late_m, ids)) / 4.0
    ensemble = rank_fraction(pool, ids) + rank_fraction(cv, ids)
    worst = float(np.max(np.abs(ensemble - est["ensemble"])))
    if worst > 2.0 / len(ids) + 1e-9:
        sys.exit(f"{project}: the ensemble formed here differs from the project's by {worst:.2g}; "
                 f"this script forms formula {FORMULA} (core/influence/ranking.h)")
    orders = {"cv-self-confidence": est["cv"], "ensemble": est["ensemble"], "ensemble-v3": pool,
              "ensemble-v2": (cv + nb + last + rank_fraction(m, ids)) / 4.0,
              "ensemble-all": (all_cv + nb + last + rank_fraction(all_m, ids)) / 4.0,
              "cv-late": late_cv}
    return {"work": work, "budgets": report["budgets"], "ids": ids, "orders": orders, "checkpoints": C,
            "isflip": np.array([int(i) in flipped for i in ids]), "flips": len(flipped)}


total = None
for work in args:
    run = load(work)
    budgets = run["budgets"]
    everyone = np.arange(len(run["ids"]))
    base = found(run, run["orders"]["cv-self-confidence"], everyone)
    if total is None:
        first_budgets, total = budgets, {o: np.zeros(len(budgets), int) for o in ORDERS}
    elif budgets != first_budgets:
        sys.exit(f"{work}: other budgets than the first evaluation's ({budgets} against {first_budgets})")
    print(f"{work}: {len(run['ids'])} examples, {run['flips']} flips, {run['checkpoints']} checkpoints per fold")
    print(f"  {'':20s}" + " ".join(f"{b:>7.0%}" for b in budgets) + "   − baseline")
    for o in ORDERS:
        f = found(run, run["orders"][o], everyone)
        total[o] += f - base
        print(f"  {o:20s}" + " ".join(f"{x:>7d}" for x in f) + "   " + " ".join(f"{x:+d}" for x in f - base))
    sys.stdout.flush()
if len(args) > 1:
    print(f"summed over the {len(args)} evaluations, − baseline")
    for o in ORDERS[1:]:
        print(f"  {o:20s}" + " ".join(f"{x:>+7d}" for x in total[o]))
