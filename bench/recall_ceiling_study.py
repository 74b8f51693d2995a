"""The ceiling of a 1 − p[label] ranking with the built-in CNN's architecture: a model trained on
the 40,000 Fashion-MNIST training images outside the evaluation subset, with their clean
labels, scores the subset's noisy labels (10 % uniform flips, the same subset and noise as
bench/recall_model_study.py). No ranking trained on the noisy subset itself has cleaner
evidence than this (docs/evaluation/README.md, "What holds and what does not").

usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/recall_ceiling_study.py step|cosine EPOCHS AUG WIDTH [train images]
       (arguments as in bench/recall_model_study.py)

Needs python3-torch, python3-numpy and dataset-fashion-mnist.
"""
import gzip, sys, time, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(1)
D = "/usr/share/datasets/fashion-mnist"
def idx(name):
    with gzip.open(f"{D}/{name}") as f: b = f.read()
    nd = b[3]; dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], 'big') for i in range(nd)]
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)
sched, E, aug, W = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
N = int(sys.argv[5]) if len(sys.argv) > 5 else 20000
X = torch.tensor(idx("train-images-idx3-ubyte.gz")).float().div(255).sub(0.286).div(0.353).unsqueeze(1)
Y = torch.tensor(idx("train-labels-idx1-ubyte.gz")).long()
XT = torch.tensor(idx("t10k-images-idx3-ubyte.gz")).float().div(255).sub(0.286).div(0.353).unsqueeze(1)[:5000]
YT = torch.tensor(idx("t10k-labels-idx1-ubyte.gz")).long()[:5000]
sub = np.sort(np.random.default_rng(7).permutation(60000)[:N]); X = X[sub]; Y = Y[sub]
class Net(nn.Module):
    def __init__(s):
        super().__init__(); s.c1 = nn.Conv2d(1, W, 3, padding=1); s.c2 = nn.Conv2d(W, 2 * W, 3, padding=1)
        s.l = nn.Linear(2 * W * 7 * 7, 64); s.fc = nn.Linear(64, 10)
    def forward(s, x):
        x = F.max_pool2d(F.relu(s.c1(x)), 2); x = F.max_pool2d(F.relu(s.c2(x)), 2)
        return s.fc(F.relu(s.l(x.flatten(1))))
def lr(e):
    if sched == "step": return 0.05 * 0.5 ** (e // 4)
    return 0.05 * 0.5 * (1 + np.cos(np.pi * (e + 0.5) / E))
def augment(x, g):
    if "flip" in aug:
        f = torch.rand(len(x), generator=g) < 0.5; x = x.clone(); x[f] = x[f].flip(3)
    if "shift" in aug:
        p = F.pad(x, (2, 2, 2, 2), value=-0.286 / 0.353); dx, dy = torch.randint(0, 5, (2,), generator=g).tolist()
        x = p[:, :, dy:dy + 28, dx:dx + 28]
    return x
def train(Xs, ys, seed):
    torch.manual_seed(seed); m = Net(); g = torch.Generator().manual_seed(seed * 1000)
    for ep in range(E):
        opt = torch.optim.SGD(m.parameters(), lr=lr(ep)); perm = torch.randperm(len(Xs), generator=g)
        for b in range(0, len(Xs), 64):
            i = perm[b:b + 64]; opt.zero_grad(); F.cross_entropy(m(augment(Xs[i], g)), ys[i]).backward(); opt.step()
    return m
def probs(m, x):
    with torch.no_grad():
        p = F.softmax(m(x), 1)
        if "tta" in aug: p = (p + F.softmax(m(x.flip(3)), 1)) / 2
    return p
r = np.random.default_rng(1); yn = Y.numpy().copy(); flip = r.permutation(N)[:N // 10]
for i in flip: yn[i] = (yn[i] + 1 + r.integers(9)) % 10
yn = torch.tensor(yn); isflip = (yn != Y).numpy()
t = time.time()
rest = torch.tensor(np.setdiff1d(np.arange(60000), sub))
XA = torch.tensor(idx("train-images-idx3-ubyte.gz")).float().div(255).sub(0.286).div(0.353).unsqueeze(1)[rest]
YA = torch.tensor(idx("train-labels-idx1-ubyte.gz")).long()[rest]
m = train(XA, YA, 1); P = probs(m, X); acc = (probs(m, XT).argmax(1) == YT).float().mean().item() * 100
score = 1 - P[torch.arange(N), yn].numpy(); order = np.argsort(-score); nf = isflip.sum()
rec = [isflip[order[:int(N * b)]].sum() / nf * 100 for b in (0.01, 0.05, 0.1, 0.2)]
print(f"ORACLE (clean labels, 40k other images) {sched} E={E} aug={aug} W={W} N={N}: test acc {acc:.2f}; 1-p[y] recall 1/5/10/20%: " + " / ".join(f"{x:.1f}" for x in rec) + f" [{time.time()-t:.0f}s]", flush=True)
