"""How many uniform flips could a *stronger* model than the built-in CNN find? bench/recall_study.py
with a better network: a VGG-style CNN (three blocks of two 3×3 convolutions with batch norm,
32/64/128 channels, dropout, random flips and ±2-pixel shifts, SGD with Nesterov momentum and a
one-cycle rate), on the seeded 20,000-image Fashion-MNIST subset with 10 % uniform flips (the
same flips as recall_study.py); the ranking is 1 − p[label] (docs/evaluation/README.md, "What
holds and what does not").

usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/ceiling_study.py ceiling|cv [epochs] [threads] [probabilities.npz]
       [--net vgg|compact] [--n 20000|60000]
  --net compact  one 3×3 convolution with batch norm per block (7.5 million multiply-adds, a
                 quarter of vgg's), otherwise the same recipe.
  --n 60000      the whole training split (cv only): 5 folds of 48,000 images.
  ceiling  one model trained on the 40,000 training images *outside* the subset, with their
           clean labels, scores the subset: a model trained on the noisy subset itself has no
           cleaner evidence, so its recall bounds what such a model could find. Prints, after
           every third epoch and the last, the test accuracy and the recall.
  cv       confident learning's self-confidence with this network: 5-fold out-of-sample
           p[label] of models trained on the noisy subset (16,000 images each).
Recall: the share of the subset's 2,000 flips in the top 1/5/10/20 % of the ranking (after the
last epoch also with test-time flip averaging). Test accuracy on all 10,000 test images. Needs
python3-torch, python3-numpy, dataset-fashion-mnist.
"""
import sys, time, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
from fmnist_study import load, MEAN, STD

def option(name, default):
    if name in sys.argv:
        i = sys.argv.index(name); v = sys.argv[i + 1]; del sys.argv[i:i + 2]; return v
    return default


NET = option("--net", "vgg")
N = int(option("--n", "20000"))
mode = sys.argv[1]
E = int(sys.argv[2]) if len(sys.argv) > 2 else 12
torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
XALL, YALL, XT, YT, sub = load(N)
X, Y = XALL[sub], YALL[sub]
r = np.random.default_rng(1); yn = Y.numpy().copy()
for i in r.permutation(N)[:N // 10]: yn[i] = (yn[i] + 1 + r.integers(9)) % 10
yn = torch.tensor(yn); isflip = (yn != Y).numpy()
t = time.time()


def block(i, o):
    return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(),
            nn.Conv2d(o, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)]


def compact(i, o):
    return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)]


def probs(net, x, tta):
    net.eval(); out = []
    with torch.no_grad():
        for b in range(0, len(x), 250):
            xb = x[b:b + 250]; p = F.softmax(net(xb), 1)
            if tta: p = (p + F.softmax(net(xb.flip(3)), 1)) / 2
            out.append(p)
    net.train(); return torch.cat(out)


def recall(P):
    score = 1 - P[torch.arange(N), yn].numpy(); order = np.argsort(-score, kind="stable")
    return order, [isflip[order[:int(N * b)]].sum() / isflip.sum() * 100 for b in (0.01, 0.05, 0.1, 0.2)]


def accuracy(net, tta):
    return (probs(net, XT, tta).argmax(1) == YT).float().mean().item() * 100


def train(Xs, ys, seed, report=None):
    """The network trained on (Xs, ys); report(net, epoch) after each epoch when given."""
    torch.manual_seed(seed); g = torch.Generator().manual_seed(seed * 1000)
    b = block if NET == "vgg" else compact
    net = nn.Sequential(*b(1, 32), *b(32, 64), *b(64, 128), nn.Flatten(), nn.Dropout(0.3),
                        nn.Linear(128 * 3 * 3, 256), nn.ReLU(), nn.Dropout(0.3), nn.Linear(256, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=E * ((len(Xs) + 127) // 128))
    for ep in range(E):
        perm = torch.randperm(len(Xs), generator=g)
        for b in range(0, len(Xs), 128):
            i = perm[b:b + 128]; x = Xs[i]
            f = torch.rand(len(x), generator=g) < 0.5; x = x.clone(); x[f] = x[f].flip(3)
            p = F.pad(x, (2, 2, 2, 2), value=-MEAN / STD); dx, dy = torch.randint(0, 5, (2,), generator=g).tolist()
            opt.zero_grad(); F.cross_entropy(net(p[:, :, dy:dy + 28, dx:dx + 28]), ys[i]).backward(); opt.step(); sched.step()
        if report: report(net, ep)
    return net


def line(label, acc, rec):
    print(f"{label} [{NET}, n={N}]: test accuracy {acc:.2f}; 1 − p[label] recall 1/5/10/20 %: "
          + " / ".join(f"{x:.1f}" for x in rec) + f" [{time.time() - t:.0f} s]", flush=True)


if mode == "ceiling":
    rest = torch.tensor(np.setdiff1d(np.arange(60000), sub))

    def report(net, ep):
        if (ep + 1) % 3 and ep != E - 1: print(f"epoch {ep + 1} [{time.time() - t:.0f} s]", flush=True); return
        line(f"ceiling epoch {ep + 1}", accuracy(net, False), recall(probs(net, X, False))[1])

    net = train(XALL[rest], YALL[rest], 1, report)
    P = probs(net, X, True); accs = [accuracy(net, True)]
else:
    Ps, P = [torch.zeros(N, 10) for _ in range(2)]; fold = np.random.default_rng(5).permutation(N) % 5; accs = []
    for k in range(5):
        tr = torch.tensor(np.where(fold != k)[0]); te = torch.tensor(np.where(fold == k)[0])
        net = train(X[tr], yn[tr], 1 + k); Ps[te] = probs(net, X[te], False); P[te] = probs(net, X[te], True)
        accs.append(accuracy(net, True)); print(f"fold {k + 1} [{time.time() - t:.0f} s]", flush=True)
    line(f"cv E={E}", np.mean(accs), recall(Ps)[1])
order, rec = recall(P)
line(f"{mode} E={E} tta", np.mean(accs), rec)
# The flips left outside the top 10 %: how many does the model find at least as likely under
# the noisy label as under the original one?
missed = np.setdiff1d(np.where(isflip)[0], order[:N // 10]); ar = torch.arange(len(missed))
doubt = (P[missed][ar, yn[missed]] >= P[missed][ar, Y[missed]]).sum().item()
print(f"missed flips: {len(missed)}; the noisy label at least as likely as the original: {doubt}; "
      f"the model disagrees with the original label on {(P.argmax(1) != Y).sum().item()} of the {N} images", flush=True)
if len(sys.argv) > 4: np.savez(sys.argv[4], P=P.numpy(), noisy=yn.numpy(), clean=Y.numpy())
