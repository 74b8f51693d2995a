"""How adaptive training's stopping rule chooses the epoch count on small data sets
(docs/adaptive-training.md, "Small validation parts"): each rule's count, and the test accuracy
of the model trained that many epochs, against fixed 20 and 40 epochs.

usage: /usr/bin/python3 bench/stopping_study.py data DATA_DIR [DIGITS_DIR]
       /usr/bin/python3 bench/stopping_study.py run DATA_DIR WORK_DIR DATASETS SEEDS RESULT.json [CURVE_EPOCHS [decay]]
       /usr/bin/python3 bench/stopping_study.py table RESULT.json [RESULT.json ...]
  e.g. bench/stopping_study.py run /tmp/stop /tmp/stop/work photos,fm1000,dg1000 1,2 /tmp/stop/main.json

`data` writes the image folders (train/ and test/ per class): Fashion-MNIST subsets of 500, 1,000,
2,000 (10 % uniform flips), 5,000 (10 %) and 20,000 (10 %) images with 5,000 test images; 600 tinted
80×80 JPEG photos of 5 clothing classes (500 test); with DIGITS_DIR (docs/scripts/opencv-digits.py's
output) 1,000 clean and 500 10 %-flipped OpenCV digits. `run` imports each data set with traclens-cli
($TRACLENS_CLI, default build/app/cli/traclens-cli), records the validation run's whole curve
(`train --patience 20 --max-epochs 20`: the validation run of the default is a prefix of it), applies
each rule to the curve, and trains `--epochs E` for every count a rule chooses, and 20 and 40 (the
scored run of an adaptive training is that fixed run). One LibTorch thread per training, two at a time.

Rules (n = the validation part's size; minimum 3 epochs, maximum 20, improvements of 0.5 points):
  R0  patience 4, each epoch's accuracy, count = its first highest epoch   (before this study)
  R1  patience 4 on the 3-epoch trailing mean, count = the end of the best window
  R2  patience max(4, ⌈4·√(1000/n)⌉), each epoch's accuracy
  R3  R2's patience with R1's mean
  R4  R3 with the maximum scaled as the patience is, max(20, ⌈20·√(1000/n)⌉) (with CURVE_EPOCHS > 20:
      `run … RESULT.json 64` records curves of 64 epochs)
`run … RESULT.json 64 decay` records the curves with the validation run's rate halved every "patience in
force" epochs (`--lr-decay-every`) instead of every 4; its R4 column is R4's rule on those curves: R5,
the product's rule (core/model/trainer.cpp: adaptivePatience, adaptiveMaxEpochs, validationDecayEvery).
Needs python3-numpy, python3-pil and dataset-fashion-mnist.
"""
import gzip, json, math, os, shutil, subprocess, sys
from concurrent.futures import ThreadPoolExecutor

CLI = os.environ.get("TRACLENS_CLI", "build/app/cli/traclens-cli")
FM = "/usr/share/datasets/fashion-mnist"


def make_data(root, digits=None):
    import numpy as np
    from PIL import Image

    def idx(f, off):
        return np.frombuffer(gzip.open(f"{FM}/{f}").read()[off:], np.uint8)
    Xtr = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28); ytr = idx("train-labels-idx1-ubyte.gz", 8)
    Xte = idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28); yte = idx("t10k-labels-idx1-ubyte.gz", 8)

    def write(name, X, y, Xt, yt, noise, seed):
        out = f"{root}/{name}"
        shutil.rmtree(out, ignore_errors=True)
        rng = np.random.default_rng(seed)
        y = y.copy()
        flip = rng.random(len(y)) < noise
        y[flip] = (y[flip] + rng.integers(1, 10, flip.sum())) % 10
        for split, XX, yy in [("train", X, y), ("test", Xt, yt)]:
            for c in range(10):
                os.makedirs(f"{out}/{split}/{c}", exist_ok=True)
            for i, (im, l) in enumerate(zip(XX, yy)):
                Image.fromarray(im).save(f"{out}/{split}/{l}/{i}.png")
        print(name, len(y), "flipped", int(flip.sum()))

    def fm(name, n, noise, seed):
        tr = np.random.default_rng(100 + n).choice(len(ytr), n, replace=False)
        te = np.random.default_rng(7).choice(len(yte), 5000, replace=False)
        write(name, Xtr[tr], ytr[tr], Xte[te], yte[te], noise, seed)
    fm("fm1000", 1000, 0.0, 1); fm("fm2000n10", 2000, 0.1, 2); fm("fm5000n10", 5000, 0.1, 3)
    fm("fm500", 500, 0.0, 4); fm("fm20000n10", 20000, 0.1, 8)
    if digits:
        def load(split):
            X, y = [], []
            for c in range(10):
                for f in sorted(os.listdir(f"{digits}/{split}/{c}")):
                    X.append(np.asarray(Image.open(f"{digits}/{split}/{c}/{f}").convert("L"))); y.append(c)
            return np.array(X), np.array(y, np.uint8)
        dX, dy = load("train"); tX, ty = load("test")
        sel = np.random.default_rng(11).choice(len(dy), 1000, replace=False)
        write("dg1000", dX[sel], dy[sel], tX, ty, 0.0, 5)
        sel = np.random.default_rng(12).choice(len(dy), 500, replace=False)
        write("dg500n10", dX[sel], dy[sel], tX, ty, 0.1, 6)
    # Photos: 120 training and 100 test images per class, upscaled and tinted, as JPEG.
    names = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat"]
    out = f"{root}/photos"
    shutil.rmtree(out, ignore_errors=True)
    for split, first, per, seed in [("train", 0, 120, 1), ("test", 2000, 100, 2)]:
        rng = np.random.default_rng(seed)
        for c, name in enumerate(names):
            os.makedirs(f"{out}/{split}/{name}", exist_ok=True)
            for i in np.where(ytr == c)[0][first:first + per]:
                g = Image.fromarray(Xtr[i]).resize((80, 80), Image.BICUBIC)
                tint = rng.uniform(0.5, 1.0, 3)
                rgb = (np.asarray(g)[..., None] * tint[None, None, :]).astype(np.uint8)
                Image.fromarray(rgb).save(f"{out}/{split}/{name}/{i}.jpg", quality=85)
    print("photos 600")


# --- the rules, on a recorded curve (core/model/trainer.cpp implements R3)
def first_argmax(a):
    return max(range(len(a)), key=lambda i: (a[i], -i)) + 1


def stop_at(series, patience, min_delta=0.005, max_epochs=20):
    best, be = 0.0, 0
    for i, v in enumerate(series):
        e = i + 1
        if be == 0 or v >= best + min_delta - 1e-9:
            best, be = v, e
        if e - be >= patience or e >= max_epochs:
            return e
    return len(series)


def smooth(a, w=3):
    return [sum(a[max(0, i - w + 1):i + 1]) / len(a[max(0, i - w + 1):i + 1]) for i in range(len(a))]


def scaled(base, n):
    return max(base, math.ceil(base * math.sqrt(1000 / n) - 1e-9))


def rule(acc, n, name, min_epochs=3):
    patience = 4 if name in ("R0", "R1") else scaled(4, n)
    max_epochs = scaled(20, n) if name == "R4" else 20
    series = acc if name in ("R0", "R2") else smooth(acc)
    if len(series) < max_epochs and stop_at(series, patience, max_epochs=max_epochs) >= len(series):
        raise SystemExit(f"a curve of {len(series)} epochs is too short for {name} at n = {n}")
    stop = stop_at(series, patience, max_epochs=max_epochs)
    return max(first_argmax(series[:stop]), min_epochs), stop


RULES = ["R0", "R1", "R2", "R3"]


# --- running traclens-cli
def cli(args):
    r = subprocess.run([CLI] + args, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"traclens-cli {' '.join(args)}: {r.stderr[-2000:]}")
    return r.stdout


def run_study(data, work, datasets, seeds, result, curve_epochs=20, decay_as_patience=False):
    global RULES
    if curve_epochs > 20:
        RULES = RULES + ["R4"]
    os.makedirs(work, exist_ok=True)
    for ds in datasets:  # one import per data set, copied for each training
        if not os.path.exists(f"{work}/template-{ds}.traclens"):
            cli(["import", f"{work}/template-{ds}.traclens", f"{data}/{ds}", "--quiet"])

    def cached(key, fn):
        f = f"{work}/{key}.json"
        if os.path.exists(f):
            return json.load(open(f))
        v = fn(); json.dump(v, open(f, "w")); return v

    def project(ds, seed, tag):
        p = f"{work}/{ds}-s{seed}-{tag}.traclens"
        if not os.path.exists(p):
            shutil.copy(f"{work}/template-{ds}.traclens", p)
        return p

    def curve(cell):
        ds, seed = cell
        def go():
            L = str(curve_epochs)
            extra, tag = [], f"curve{L}"
            if decay_as_patience:  # the validation run's rate halves every "patience in force" epochs
                n = json.loads(cli(["info", project(ds, seed, tag), "--json"]))["train"]
                P = scaled(4, max(1, min(5000, max(round(0.1 * n), min(100, n // 5)))))
                extra, tag = ["--lr-decay-every", str(P)], tag + "-decay"
            d = json.loads(cli(["train", project(ds, seed, tag), "--patience", L, "--max-epochs", L,
                                "--time-budget", "0", "--seed", str(seed), "--threads", "1", "--quiet", "--json"]
                               + extra))
            t = d["training"]
            return {"n": t["validation_count"], "acc": [v["accuracy"] for v in t["validation"]]}
        return cached(f"curve-{ds}-s{seed}" + ("" if curve_epochs == 20 else f"-{curve_epochs}")
                      + ("-decay" if decay_as_patience else ""), go)

    def fixed(job):
        ds, seed, E = job
        def go():
            d = json.loads(cli(["train", project(ds, seed, f"e{E}"), "--epochs", str(E), "--seed", str(seed),
                                "--threads", "1", "--quiet", "--json"]))
            return {"test": d["epochs"][-1]["test_accuracy"]}
        return cached(f"fixed-{ds}-s{seed}-e{E}", go)["test"]

    cells = [(d, s) for d in datasets for s in seeds]
    with ThreadPoolExecutor(2) as ex:
        curves = dict(zip(cells, ex.map(curve, cells)))
    jobs = sorted({(d, s, rule(c["acc"], c["n"], r)[0]) for (d, s), c in curves.items() for r in RULES}
                  | {(d, s, E) for (d, s) in cells for E in (20, 40)})
    with ThreadPoolExecutor(2) as ex:
        acc = dict(zip(jobs, ex.map(fixed, jobs)))
    rows = []
    for (d, s), c in curves.items():
        row = {"ds": d, "seed": s, "n": c["n"], "curve": c["acc"], "fixed20": acc[(d, s, 20)], "fixed40": acc[(d, s, 40)]}
        for r in RULES:
            E, stop = rule(c["acc"], c["n"], r)
            row[r] = {"E": E, "stop": stop, "test": acc[(d, s, E)]}
        rows.append(row)
    json.dump(rows, open(result, "w"), indent=1)
    table([result])


def table(results):
    rows = [r for f in results for r in json.load(open(f))]
    rules = [k for k in ["R0", "R1", "R2", "R3", "R4"] if all(k in r for r in rows)]
    print("| data set | seed | held out | " + " | ".join(f"{r}: epochs (validation run), test %" for r in rules)
          + " | fixed 20 | fixed 40 |")
    print("|---|---:|---:|" + "---|" * len(rules) + "---:|---:|")
    for r in rows:
        cells = [f"{r[k]['E']} ({r[k]['stop']}), {100 * r[k]['test']:.1f}" for k in rules]
        print(f"| {r['ds']} | {r['seed']} | {r['n']} | " + " | ".join(cells)
              + f" | {100 * r['fixed20']:.1f} | {100 * r['fixed40']:.1f} |")
    m = lambda f: 100 * sum(f(r) for r in rows) / len(rows)
    print("| mean | | | " + " | ".join(f"{m(lambda r: r[k]['E']) / 100:.1f} ({m(lambda r: r[k]['stop']) / 100:.1f}), "
                                          f"{m(lambda r: r[k]['test']):.2f}" for k in rules)
          + f" | {m(lambda r: r['fixed20']):.2f} | {m(lambda r: r['fixed40']):.2f} |")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "data":
        make_data(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    elif len(sys.argv) in (7, 8, 9) and sys.argv[1] == "run":
        run_study(sys.argv[2], sys.argv[3], sys.argv[4].split(","), [int(s) for s in sys.argv[5].split(",")], sys.argv[6],
                  int(sys.argv[7]) if len(sys.argv) > 7 else 20, len(sys.argv) > 8 and sys.argv[8] == "decay")
    elif len(sys.argv) >= 3 and sys.argv[1] == "table":
        table(sys.argv[2:])
    else:
        sys.exit(__doc__)
