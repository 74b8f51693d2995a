"""Which learning-rate schedule the built-in CNN trains with: test accuracy per epoch on a
Fashion-MNIST subset with injected label noise, for several step schedules of plain SGD
(docs/adaptive-training.md, "The learning-rate schedule").

usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/schedule_study.py uniform|pair rate [train images] [epochs]

The model is the built-in CNN's architecture (bench/ranking_study.py), batch 64, η = 0.05;
schedules: halved every 2 epochs, halved every 4, constant. Noise is seeded: uniform flips to
any other class, pair flips c → c+1. Accuracy is on the first 5,000 test images.
Needs python3-torch, python3-numpy and dataset-fashion-mnist.
"""
import gzip, sys, time, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(1)
D = "/usr/share/datasets/fashion-mnist"
def idx(name):
    with gzip.open(f"{D}/{name}") as f: b = f.read()
    nd = b[3]; dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], 'big') for i in range(nd)]
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)
kind = sys.argv[1]; rate = float(sys.argv[2])
N = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
EPOCHS = int(sys.argv[4]) if len(sys.argv) > 4 else 16
X = torch.tensor(idx("train-images-idx3-ubyte.gz")).float().div(255).sub(0.286).div(0.353).unsqueeze(1)
Y = torch.tensor(idx("train-labels-idx1-ubyte.gz")).long()
XT = torch.tensor(idx("t10k-images-idx3-ubyte.gz")).float().div(255).sub(0.286).div(0.353).unsqueeze(1)[:5000]
YT = torch.tensor(idx("t10k-labels-idx1-ubyte.gz")).long()[:5000]
sub = np.sort(np.random.default_rng(7).permutation(60000)[:N]); X = X[sub]; Y = Y[sub]
class Net(nn.Module):
    def __init__(s):
        super().__init__(); s.c1 = nn.Conv2d(1, 16, 3, padding=1); s.c2 = nn.Conv2d(16, 32, 3, padding=1)
        s.l = nn.Linear(32 * 7 * 7, 64); s.fc = nn.Linear(64, 10)
    def forward(s, x):
        x = F.max_pool2d(F.relu(s.c1(x)), 2); x = F.max_pool2d(F.relu(s.c2(x)), 2)
        return s.fc(F.relu(s.l(x.flatten(1))))
def noisy(seed=3):
    r = np.random.default_rng(seed); y = Y.numpy().copy(); n = len(y)
    for i in r.permutation(n)[:int(round(rate * n))]:
        y[i] = (y[i] + 1 + r.integers(9)) % 10 if kind == "uniform" else (y[i] + 1) % 10
    return torch.tensor(y)
schedules = {"halved every 2": lambda e: 0.05 * 0.5 ** (e // 2),
             "halved every 4": lambda e: 0.05 * 0.5 ** (e // 4),
             "constant": lambda e: 0.05}
yn = noisy()
for name, lr in schedules.items():
    torch.manual_seed(1); m = Net(); curve = []; t = time.time()
    for ep in range(EPOCHS):
        opt = torch.optim.SGD(m.parameters(), lr=lr(ep)); perm = torch.randperm(len(X))
        for b in range(0, len(X), 64):
            i = perm[b:b + 64]; opt.zero_grad(); F.cross_entropy(m(X[i]), yn[i]).backward(); opt.step()
        with torch.no_grad(): curve.append(round((m(XT).argmax(1) == YT).float().mean().item() * 100, 1))
    print(f"{kind} {rate:g}, {N} images, {name}: test accuracy by epoch {curve} "
          f"(best {max(curve)} at epoch {curve.index(max(curve)) + 1}; {time.time() - t:.0f} s)", flush=True)
