"""Does a better-trained or wider built-in CNN find more uniform flips, and how far could this
architecture go? Share of the flips in the top 1/5/10/20 % of a 1 − p[label] ranking on a
Fashion-MNIST subset with 10 % uniform noise (docs/evaluation/README.md, "What holds and what
does not").

usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/recall_study.py cv|ceiling step|cosine EPOCHS AUG WIDTH [train images]
  cv       confident learning's self-confidence: 5-fold out-of-sample p[label] of models
           trained on the noisy subset; prints the fold models' mean test accuracy.
  ceiling  one model trained on the training images *outside* the subset with their clean
           labels scores the subset: no model of this kind trained on the noisy subset itself
           has cleaner evidence.
  AUG      none, or any of flip, shift, tta joined by '+' (random horizontal flips, random
           ±2-pixel shifts per batch, test-time averaging over the flip); WIDTH: the first
           convolution's channels (16 is the built-in CNN's).
Test accuracy is on the first 5,000 test images. Needs python3-torch, python3-numpy and
dataset-fashion-mnist (bench/fmnist_study.py).
"""
import sys, time, numpy as np, torch, torch.nn.functional as F
import fmnist_study
from fmnist_study import load, MEAN, STD
torch.set_num_threads(1)
mode, sched, E, aug, W = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
N = int(sys.argv[6]) if len(sys.argv) > 6 else 20000
XALL, YALL, XT, YT, sub = load(N, 5000); X = XALL[sub]; Y = YALL[sub]


def augment(x, g):
    if "flip" in aug:
        f = torch.rand(len(x), generator=g) < 0.5; x = x.clone(); x[f] = x[f].flip(3)
    if "shift" in aug:
        p = F.pad(x, (2, 2, 2, 2), value=-MEAN / STD); dx, dy = torch.randint(0, 5, (2,), generator=g).tolist()
        x = p[:, :, dy:dy + 28, dx:dx + 28]
    return x


def train(Xs, ys, seed):
    return fmnist_study.train(Xs, ys, seed, E, sched, W, augment)


def probs(m, x):
    with torch.no_grad():
        p = F.softmax(m(x), 1)
        if "tta" in aug: p = (p + F.softmax(m(x.flip(3)), 1)) / 2
    return p


def accuracy(m):
    return (probs(m, XT).argmax(1) == YT).float().mean().item() * 100


r = np.random.default_rng(1); yn = Y.numpy().copy(); flip = r.permutation(N)[:N // 10]
for i in flip: yn[i] = (yn[i] + 1 + r.integers(9)) % 10
yn = torch.tensor(yn); isflip = (yn != Y).numpy()
t = time.time()
if mode == "ceiling":
    rest = torch.tensor(np.setdiff1d(np.arange(60000), sub))
    m = train(XALL[rest], YALL[rest], 1); P = probs(m, X); acc = accuracy(m)
else:
    P = torch.zeros(N, 10); fold = np.random.default_rng(5).permutation(N) % 5; accs = []
    for k in range(5):
        tr = torch.tensor(np.where(fold != k)[0]); te = torch.tensor(np.where(fold == k)[0])
        m = train(X[tr], yn[tr], 1 + k); P[te] = probs(m, X[te]); accs.append(accuracy(m))
    acc = np.mean(accs)
score = 1 - P[torch.arange(N), yn].numpy(); order = np.argsort(-score); nf = isflip.sum()
rec = [isflip[order[:int(N * b)]].sum() / nf * 100 for b in (0.01, 0.05, 0.1, 0.2)]
print(f"{mode} {sched} E={E} aug={aug} W={W} N={N}: test accuracy {acc:.2f}; 1 − p[label] recall 1/5/10/20 %: "
      + " / ".join(f"{x:.1f}" for x in rec) + f" [{time.time() - t:.0f} s]", flush=True)
