"""What the Fashion-MNIST training studies share (bench/anneal_study.py, bench/recall_study.py):
the IDX files, a seeded subset, the built-in CNN's architecture in PyTorch and its two
learning-rate schedules. Needs python3-torch, python3-numpy and dataset-fashion-mnist.
"""
import gzip, numpy as np, torch, torch.nn as nn, torch.nn.functional as F

D = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.286, 0.353
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def idx(name):
    with gzip.open(f"{D}/{name}") as f: b = f.read()
    nd = b[3]; dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], 'big') for i in range(nd)]
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def images(name):
    return torch.tensor(idx(name)).float().div(255).sub(MEAN).div(STD).unsqueeze(1)


def load(n, test_limit=None):
    """The training images and labels, the seeded subset of n of them (indices `sub`), and the
    test split (its first `test_limit` images)."""
    X, Y = images("train-images-idx3-ubyte.gz"), torch.tensor(idx("train-labels-idx1-ubyte.gz")).long()
    XT, YT = images("t10k-images-idx3-ubyte.gz"), torch.tensor(idx("t10k-labels-idx1-ubyte.gz")).long()
    if test_limit: XT, YT = XT[:test_limit], YT[:test_limit]
    sub = np.sort(np.random.default_rng(7).permutation(60000)[:n])
    return X, Y, XT, YT, sub


class Net(nn.Module):
    """conv3×3(1→w) ReLU maxpool2 → conv3×3(w→2w) ReLU maxpool2 → linear(→64) ReLU → fc."""
    def __init__(s, width=16):
        super().__init__(); s.c1 = nn.Conv2d(1, width, 3, padding=1); s.c2 = nn.Conv2d(width, 2 * width, 3, padding=1)
        s.l = nn.Linear(2 * width * 7 * 7, 64); s.fc = nn.Linear(64, 10)

    def forward(s, x):
        x = F.max_pool2d(F.relu(s.c1(x)), 2); x = F.max_pool2d(F.relu(s.c2(x)), 2)
        return s.fc(F.relu(s.l(x.flatten(1))))


def train(Xs, y, seed, epochs, schedule, width=16, augment=None):
    """The built-in CNN of `width` trained on (Xs, y): plain SGD, batch 64, the schedule's rate
    per epoch; `augment(x, generator)` transforms each batch when given."""
    torch.manual_seed(seed); m = Net(width); g = torch.Generator().manual_seed(seed * 1000)
    for ep in range(epochs):
        opt = torch.optim.SGD(m.parameters(), lr=rate(schedule, ep, epochs)); perm = torch.randperm(len(Xs), generator=g)
        for b in range(0, len(Xs), 64):
            i = perm[b:b + 64]; x = Xs[i] if augment is None else augment(Xs[i], g)
            opt.zero_grad(); F.cross_entropy(m(x), y[i]).backward(); opt.step()
    return m


def rate(schedule, e, epochs, eta=0.05):
    """The rate of 0-based epoch e of `epochs`: step halves η every 4 epochs; cosine is sampled
    at the middle of the epoch, as core/model/trainer.cpp does."""
    if schedule == "step": return eta * 0.5 ** (e // 4)
    return eta * 0.5 * (1 + np.cos(np.pi * (e + 0.5) / epochs))


# Confusion noise draws flips from this confusion matrix (the clean built-in CNN's test
# predictions in docs/evaluation/fashion-mnist-confusion30-cleaning; row = true class).
CONFUSION = np.array([[765,1,13,67,10,8,122,1,13,0],[0,966,0,23,7,0,2,0,2,0],[14,1,696,16,174,0,89,0,10,0],[12,16,3,883,37,1,42,1,5,0],[1,1,48,37,862,0,46,0,5,0],[0,0,0,2,0,939,0,54,2,3],[136,1,72,47,160,0,562,0,22,0],[0,0,0,0,0,19,0,968,1,12],[2,1,2,6,4,2,10,5,968,0],[0,0,0,0,0,23,1,99,1,876]],float)


def noisy_labels(Y, kind, noise_rate, seed=1):
    """Y with round(noise_rate · n) labels, chosen at random, moved to another class: uniform
    (any other class), pair (c → c+1) or confusion (a class drawn from the true class's row of
    CONFUSION, diagonal left out)."""
    r = np.random.default_rng(seed); yn = Y.numpy().copy()
    for i in r.permutation(len(Y))[:int(round(noise_rate * len(Y)))]:
        if kind == "confusion": row = CONFUSION[Y[i]].copy(); row[Y[i]] = 0; yn[i] = r.choice(10, p=row / row.sum())
        elif kind == "pair": yn[i] = (Y[i] + 1) % 10
        else: yn[i] = (Y[i] + 1 + r.integers(9)) % 10
    return torch.tensor(yn)
