"""What decides a small budget? The unflipped labels at the top of two rankings. Where both
rankings find nearly every flip in their top 1 %, the difference between them is which few
unflipped labels each puts there; many of those are the data set's own errors, which the
evaluation counts as misses (docs/evaluation/README.md, "What the top of the queue holds
besides flips"). This lists them per evaluation, with each one's rank in both rankings, and
the ids that recur across evaluations (other flips, other training seeds), and can draw them.

usage: /usr/bin/python3 bench/unflipped_at_top.py WORK_DIR... [--budget F] [--a RANKING]
                                                   [--b RANKING] [--sheet OUT.png]
  WORK_DIR   an evaluation's work directory (`traclens-cli evaluate --work`); one or more
  --budget   the top share of the training split to look at; default 0.01
  --a, --b   the two rankings; default ensemble and cv-self-confidence (the baseline)
  --sheet    also write a contact sheet: one row per evaluation, each image with its id,
             label → the model's class, and its rank in A and B (needs python3-pil)
Scores come from `traclens-cli rank --json` (build/app/cli/traclens-cli, or $TRACLENS_CLI),
ties in id order as the queue breaks them. Needs python3-numpy.
"""
import argparse, gzip, os, sys
import numpy as np
from evaluation_work import open_evaluation, ranked

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("works", nargs="+")
parser.add_argument("--budget", type=float, default=0.01)
parser.add_argument("--a", default="ensemble")
parser.add_argument("--b", default="cv-self-confidence")
parser.add_argument("--sheet")
args = parser.parse_args()
if not 0 < args.budget <= 1:
    sys.exit(f"--budget {args.budget}: give a share of the training split, above 0 and at most 1")
if args.sheet and not os.path.isdir(os.path.dirname(os.path.abspath(args.sheet))):
    sys.exit(f"--sheet {args.sheet}: its folder does not exist")


def load(work):
    project, report, flipped = open_evaluation(work)
    a, b = ranked(project, args.a), ranked(project, args.b)
    top = int(round(len(a) * args.budget))
    rank_a = {e["id"]: e["rank"] for e in a}
    rank_b = {e["id"]: e["rank"] for e in b}
    info = {e["id"]: e for e in a}
    ids = {e["id"] for e in a[:top] + b[:top] if e["id"] not in flipped}
    rows = sorted(({"id": i, "label": info[i]["label"], "predicted": info[i]["predicted"], "path": info[i]["path"],
                    "rank_a": rank_a[i], "rank_b": rank_b[i]} for i in ids),
                  key=lambda r: min(r["rank_a"], r["rank_b"]))
    return {"work": work, "dataset": report["dataset"], "top": top, "n": len(a), "rows": rows,
            "found_a": sum(e["id"] in flipped for e in a[:top]), "found_b": sum(e["id"] in flipped for e in b[:top])}


runs = [load(w) for w in args.works]
seen = {}
for run in runs:
    top = run["top"]
    only_a = sum(r["rank_a"] <= top < r["rank_b"] for r in run["rows"])
    only_b = sum(r["rank_b"] <= top < r["rank_a"] for r in run["rows"])
    print(f"{run['work']}: top {top} of {run['n']}; flips found {args.a} {run['found_a']}, {args.b} {run['found_b']}; "
          f"unflipped labels there: {args.a} only {only_a}, {args.b} only {only_b}, "
          f"both {len(run['rows']) - only_a - only_b}")
    for r in run["rows"]:
        mark = lambda k: str(r[k]) if r[k] <= top else f"({r[k]})"
        print(f"  #{r['id']:<6} {r['label']:>12} → {r['predicted']:<12} rank {args.a} {mark('rank_a'):>8}  {args.b} {mark('rank_b'):>8}")
        seen.setdefault(r["id"], []).append(run["work"])
recurring = {i: w for i, w in seen.items() if len(w) > 1}
if len(runs) > 1:
    print(f"in the top of more than one evaluation: {len(recurring)} of {len(seen)}: "
          + ", ".join(f"#{i} ({len(w)})" for i, w in sorted(recurring.items())))


if args.sheet:
    from PIL import Image, ImageDraw  # only the sheet needs python3-pil


def image(dataset, path):
    # An IDX member ("file#index") or an image file relative to the data set's folder.
    name, _, index = path.partition("#")
    full = os.path.join(dataset, name)
    if not index:
        return Image.open(full).convert("L")
    opener = gzip.open if full.endswith(".gz") else open
    with opener(full, "rb") as f:
        head = f.read(16)
        rows, cols = int.from_bytes(head[8:12], "big"), int.from_bytes(head[12:16], "big")
        f.seek(16 + int(index) * rows * cols)
        pixels = np.frombuffer(f.read(rows * cols), np.uint8).reshape(rows, cols)
    return Image.fromarray(pixels)


if args.sheet:
    size, pad, text = 112, 8, 40
    cols = max(len(r["rows"]) for r in runs) or 1
    sheet = Image.new("RGB", (cols * (size + pad) + pad, len(runs) * (size + text + pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    for y, run in enumerate(runs):
        for x, r in enumerate(run["rows"]):
            left, top = pad + x * (size + pad), pad + y * (size + text + pad)
            tile = image(run["dataset"], r["path"]).resize((size, size), Image.NEAREST)
            sheet.paste(tile.convert("RGB"), (left, top))
            show = lambda k: str(r[k]) if r[k] <= run["top"] else "-"
            draw.text((left, top + size + 2), f"#{r['id']} {r['label'][:11]}", fill="black")
            draw.text((left, top + size + 14), f"-> {r['predicted'][:11]}", fill=(40, 40, 160))
            draw.text((left, top + size + 26), f"A {show('rank_a')}  B {show('rank_b')}", fill=(90, 90, 90))
    sheet.save(args.sheet)
    print(f"wrote {args.sheet}")
