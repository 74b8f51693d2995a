"""Which review of 1,000 examples pays most in test accuracy at 30 % confusion noise, and how much
any ranking could pay: a simulation of the cleaning loop on a 10,000-image Fashion-MNIST subset
(docs/evaluation/README.md, "The cleaning loop").

usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/cleaning_study.py EPOCHS SEEDS [uniform|pair|confusion] [rate] [rankings]
       e.g. bench/cleaning_study.py 6 1,2,3 confusion 0.3 random,cv-sc,oracle-any

The built-in CNN (bench/fmnist_study.py), cosine schedule, batch 64. Out-of-sample probabilities
come from 5 fold models trained on the noisy labels. Rankings (the 1,000 examples reviewed; a
review puts back the true label of every flip among them):
  random       1,000 random examples
  loss         highest loss of the model trained on all the noisy labels (in-sample)
  cv-sc        confident learning's self-confidence, 1 − p[label] out of fold
  cv-margin    max other p − p[label] out of fold
  oracle-any   1,000 random flips: a ranking with no false hits that finds typical flips
  oracle-easy  the 1,000 flips of highest cv-sc: no false hits, but the flips the fold models
               already see through
  oracle-hard  the 1,000 flips of lowest cv-sc: the flips the fold models believe
  cl-pnr       confident learning's prune-by-noise-rate as a ranking: the review is shared
               among the (label, true class) cells as the estimated noise joint shares the flips
  cl-set-random  1,000 random examples of the set cl-pnr would prune
  cl-set-low   that set, smallest cv-margin first (the issues the fold models are least sure of)
  exp-gain     Σ over the other classes j of p[j](1 − p[j]): chance of a flip times what fixing it moves
For each seed the noisy model is trained once and each review retrained with the same seed; test
accuracy on all 10,000 test images. Needs python3-torch, python3-numpy and dataset-fashion-mnist.
"""
import sys, time, numpy as np, torch, torch.nn.functional as F
import fmnist_study
from fmnist_study import load, noisy_labels
torch.set_num_threads(1)
E = int(sys.argv[1]); seeds = [int(s) for s in sys.argv[2].split(",")]
kind = sys.argv[3] if len(sys.argv) > 3 else "confusion"; noise_rate = float(sys.argv[4]) if len(sys.argv) > 4 else 0.3
rankings = (sys.argv[5] if len(sys.argv) > 5 else "random,loss,cv-sc,cv-margin,oracle-any,oracle-easy,oracle-hard").split(",")
N = 10000; REVIEW = 1000
X, Y, XT, YT, sub = load(N); X = X[sub]; Y = Y[sub]


def train(Xs, y, seed):
    return fmnist_study.train(Xs, y, seed, E, "cosine")


def test_acc(m):
    with torch.no_grad(): return (m(XT).argmax(1) == YT).float().mean().item() * 100


yn = noisy_labels(Y, kind, noise_rate); isflip = (yn != Y).numpy(); flips = np.where(isflip)[0]

t = time.time(); P = torch.zeros(N, 10); fold = np.random.default_rng(5).permutation(N) % 5
for k in range(5):
    tr = torch.tensor(np.where(fold != k)[0]); te = torch.tensor(np.where(fold == k)[0])
    mk = train(X[tr], yn[tr], 11 + k)
    with torch.no_grad(): P[te] = F.softmax(mk(X[te]), 1)
P = P.numpy(); pl = P[np.arange(N), yn.numpy()]; other = P.copy(); other[np.arange(N), yn.numpy()] = -1
score = {"cv-sc": 1 - pl, "cv-margin": other.max(1) - pl}


def pruned_by_noise_rate(P, y, margin):
    """Confident learning's prune-by-noise-rate as a ranking: the calibrated confident joint
    estimates how many examples labelled i are really j; within each such cell the examples are
    ordered by margin p[j] − p[i], and an example's key is its place in its cell divided by the
    cell's estimated count, so the review spreads over the class pairs as the noise does."""
    n, K = P.shape; t = np.array([P[y == j, j].mean() for j in range(K)])
    above = P >= t; cand = np.where(above, P, -1); ystar = cand.argmax(1); has = above.any(1)
    Cj = np.zeros((K, K))
    for i, j in zip(y[has], ystar[has]): Cj[i, j] += 1
    Q = Cj * (np.bincount(y, minlength=K) / np.maximum(Cj.sum(1), 1))[:, None]
    key = np.full(n, np.inf)
    for i in range(K):
        idx = np.where(y == i)[0]
        for j in range(K):
            if j == i or Q[i, j] < 0.5: continue
            order = idx[np.argsort(-(P[idx, j] - P[idx, i]))]
            key[order] = np.minimum(key[order], (np.arange(len(order)) + 1) / Q[i, j])
    return -(key + 1e-9 * (1 - margin))  # higher is earlier; ties by margin


score["cl-pnr"] = pruned_by_noise_rate(P, yn.numpy(), score["cv-margin"])
issue = score["cl-pnr"] >= -1  # the examples confident learning would prune
score["cl-set-random"] = np.where(issue, np.random.default_rng(300).random(N), -1)
score["cl-set-low"] = np.where(issue, 2 - score["cv-margin"], -2 + score["cv-margin"])
score["exp-gain"] = (P * (1 - P)).sum(1) - pl * (1 - pl)
predtrue = P.argmax(1) == Y.numpy()
print(f"{kind} {noise_rate} E={E}: {len(flips)} flips; fold models predict the true class of {predtrue[flips].mean()*100:.0f} % of them [{time.time()-t:.0f} s]", flush=True)
print(f"cl-pnr issue set: {issue.sum()} examples, {isflip[issue].sum()} flips", flush=True)
easy = flips[np.argsort(-score["cv-sc"][flips])]

for s in seeds:
    t = time.time(); m0 = train(X, yn, s); a0 = test_acc(m0)
    with torch.no_grad(): loss = F.cross_entropy(m0(X), yn, reduction='none').numpy()
    score["loss"] = loss
    out = []
    for name in rankings:
        if name == "random": pick = np.random.default_rng(100 + s).permutation(N)[:REVIEW]
        elif name == "oracle-any": pick = np.random.default_rng(200 + s).permutation(flips)[:REVIEW]
        elif name == "oracle-easy": pick = easy[:REVIEW]
        elif name == "oracle-hard": pick = easy[-REVIEW:]
        else: pick = np.argsort(-score[name])[:REVIEW]
        y = yn.clone(); y[pick] = Y[pick]; fixed = int(isflip[pick].sum())
        a = test_acc(train(X, y, s))
        out.append(f"{name}({fixed}, {predtrue[pick][isflip[pick]].mean()*100:.0f}%) {a - a0:+.2f}")
    print(f"seed {s}: noisy {a0:.2f}; " + "; ".join(out) + f" [{time.time()-t:.0f} s]", flush=True)
