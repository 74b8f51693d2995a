"""Reads a set of evaluation reports of one setting (the same command but the seeds) the way
docs/evaluation/README.md reads must-show 1: per report and summed, the flips the default
queue finds in the top of every budget against the confident-learning baseline, and the mean
share of the flips in the top 10 % with its standard error.

usage: /usr/bin/python3 bench/seed_reading.py REPORT_JSON... [--share 0.95]
  REPORT_JSON  an evaluation's report.json (written by `traclens-cli evaluate`); two or more
  --share      the mean top-10 % share to compare with (default 0.95)
Refuses reports that differ in their budgets, their default ranking, the baseline, the
ensemble formula or the fold models' views: such a sum would mix two settings.
Reads the reports only; nothing is scored again.
"""
import json, math, os, sys

args = sys.argv[1:]
share = 0.95
if "--share" in args:
    i = args.index("--share")
    if i + 1 >= len(args):
        sys.exit("--share needs a number, e.g. 0.95")
    try:
        share = float(args[i + 1])
    except ValueError:
        sys.exit(f"--share needs a number, e.g. 0.95, not \"{args[i + 1]}\"")
    del args[i:i + 2]
if len(args) < 2:
    sys.exit(__doc__)


def load(path):
    try:
        with open(path) as f:
            r = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"{path}: cannot read the report: {e}")
    for key in ("rankings", "budgets", "default_ranking", "baseline_ranking", "noise"):
        if key not in r:
            sys.exit(f"{path}: not an evaluation report (no \"{key}\")")
    return r


def flips_of(path, r):
    # The recall values are shares of the flipped labels; the noise block holds their count.
    n = r["noise"].get("count")
    if not n:
        sys.exit(f"{path}: no noise.count (flipped labels): nothing to count flips against")
    return int(n)


def label(path):
    # The path as given, without the file name every report shares; a long one keeps its end,
    # where the seed is.
    name = os.path.dirname(path) if os.path.basename(path) == "report.json" and os.path.dirname(path) else path
    return name if len(name) <= 60 else "..." + name[-57:]


reports = [(p, load(p)) for p in args]
first_path, first = reports[0]


def setting(r):
    baseline = r["baseline_ranking"]
    return {"budgets": r["budgets"], "default ranking": r["default_ranking"]["name"],
            "baseline": baseline if isinstance(baseline, str) else baseline.get("name"),
            "ensemble formula": r.get("ensemble_formula"), "views": r.get("cv_views", "plain")}


for p, r in reports[1:]:
    a, b = setting(r), setting(first)
    for key in a:
        if a[key] != b[key]:
            sys.exit(f"{p}: {key} {a[key]}, but {b[key]} in {first_path}: one reading takes one setting")

budgets = first["budgets"]
if 0.1 not in budgets:
    sys.exit(f"{first_path}: no 10 % budget")
at10 = budgets.index(0.1)
base_name = setting(first)["baseline"]
default_name = first["default_ranking"]["name"]
print(f"default {default_name}, baseline {base_name}, views {first.get('cv_views', 'plain')}, "
      f"formula {first.get('ensemble_formula', '?')}")
print("%-60s %s   %s" % ("report", "  ".join("%6s" % f"{b:.0%}" for b in budgets), "top 10 %"))
summed = [0] * len(budgets)
shares = []
for p, r in reports:
    by_name = {k["name"]: k for k in r["rankings"]}
    if default_name not in by_name or base_name not in by_name:
        sys.exit(f"{p}: no \"{default_name}\" or \"{base_name}\" ranking")
    n = flips_of(p, r)
    d = [round(x * n) for x in by_name[default_name]["recall"]]
    b = [round(x * n) for x in by_name[base_name]["recall"]]
    diff = [x - y for x, y in zip(d, b)]
    summed = [s + x for s, x in zip(summed, diff)]
    shares.append(d[at10] / n)
    print("%-60s %s   %.2f %%" % (label(p), "  ".join("%+6d" % x for x in diff), 100 * d[at10] / n))
mean = sum(shares) / len(shares)
se = math.sqrt(sum((s - mean) ** 2 for s in shares) / (len(shares) - 1) / len(shares))
print("%-60s %s   %.2f %%" % (f"summed / mean over {len(reports)}", "  ".join("%+6d" % x for x in summed), 100 * mean))
print(f"(a) default at or above the baseline at every budget, summed: {'yes' if min(summed) >= 0 else 'no'}")
# A tolerance far below one flip in a report, so that an exact 95.00 % is not lost to rounding.
meets = mean >= share - 1e-12
print(f"(b) mean top-10 % share {100 * mean:.2f} % (standard error {100 * se:.2f} points) "
      f"{'>=' if meets else '<'} {100 * share:.2f} %")
