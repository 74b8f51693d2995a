"""Shared by the bench scripts that read a finished `traclens-cli evaluate` work directory:
its project, the report that names the flips, and a ranking's examples from
`traclens-cli rank --json` (build/app/cli/traclens-cli, or $TRACLENS_CLI), and the rank
fraction the ensemble forms of the margin."""
import json, os, sqlite3, subprocess, sys
import numpy as np

CLI = os.environ.get("TRACLENS_CLI", os.path.join(os.path.dirname(__file__), "..", "build", "app", "cli", "traclens-cli"))


def open_evaluation(work):
    """(project path, report dict, set of flipped ids); exits with a one-line error naming
    the folder when it holds no finished evaluation."""
    project = os.path.join(work, "evaluation.traclens")
    if not os.path.isdir(work) or not os.path.isfile(project):
        sys.exit(f"{work}: no evaluation.traclens here; give the --work directory of `traclens-cli evaluate`")
    row = sqlite3.connect(f"file:{project}?mode=ro", uri=True).execute(
        "select value from meta where key = 'evaluation_report'").fetchone()
    if row is None:
        sys.exit(f"{project}: names no evaluation report; the evaluation has not finished")
    report = json.load(open(row[0]))
    return project, report, {f["id"] for f in report["noise"]["flips"]}


def ranked(project, ranking, *options):
    """Every example in queue order (ties by id), as `rank --json` lists them; `options` are
    further `rank` options (e.g. "--checkpoints", "last-1"). Exits with the CLI's own message
    when it fails."""
    done = subprocess.run([CLI, "rank", project, "--ranking", ranking, *options, "--top", "0", "--json", "--quiet"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        # The CLI names what is wrong (an unknown ranking, a missing cross-validation); say it
        # once, with the project, instead of a Python traceback.
        sys.exit(f"{project}: rank --ranking {ranking} {' '.join(options)}".rstrip() + f" failed: {done.stderr.strip() or f'exit {done.returncode}'}")
    return json.loads(done.stdout)["examples"]


def found(run, v, idx):
    """Flips among the top of each of run["budgets"] when the examples idx (a resample may
    repeat one) are ranked by v, highest first, ties by id; run holds "ids", "isflip" and
    "budgets" as numpy arrays / a list."""
    order = np.lexsort((run["ids"][idx], -v[idx]))
    hits = run["isflip"][idx][order]
    n = len(run["ids"])
    return np.array([int(hits[:int(round(n * b))].sum()) for b in run["budgets"]])


def rank_fraction(x, ids):
    """Each value's rank among x, ascending, as a fraction of the count (0 for the smallest);
    ties by id: the order ranking.cpp gives the margin before dividing by the count."""
    order = np.lexsort((ids, x))
    r = np.empty(len(x))
    r[order] = np.arange(len(x)) / len(x)
    return r
