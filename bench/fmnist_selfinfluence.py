"""Self-influence on Fashion-MNIST, end to end: TracLens against a plain PyTorch
reference that does the factorised computation the way Captum's TracInCPFast does.

usage: fmnist_selfinfluence.py --cli build/app/cli/traclens-cli --work DIR
                               [--threads 2] [--epochs 3] [--repeats 2]

Preparation (untimed): trains a small CNN with plain SGD on the 60,000 training images,
one checkpoint per epoch, each saved as TorchScript with resources/python/traclens_model.py
(embed() + fc), the learning rate halving every epoch.

Timed, paired in each repeat on the same checkpoints and threads:
 (a) TracLens: `import` (dataset, 60k train + 10k test), `import-model`, `compute`
     (factors of all 70,000 examples at every checkpoint + self-influence),
     `self-influence --split train` (the ranking, top 100 printed);
 (b) PyTorch, eager: the IDX files read into a tensor, then per checkpoint the model's
     embedding h and error e = softmax(fc(h)) − onehot(y) of each training example in
     batches, Σ η ‖e‖²(‖h‖²+1), then a sort — the 60,000 training examples only.
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "resources", "python"))
from traclens_model import CheckpointWriter  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
           "Ankle boot"]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU())
        self.fc = nn.Linear(64, 10)

    @torch.jit.export
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.embed(x))


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_train():
    x = torch.from_numpy(read_idx("train-images-idx3-ubyte.gz").copy()).float().div_(255).sub_(MEAN).div_(STD)
    y = torch.from_numpy(read_idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    return x.unsqueeze(1), y


def train(model_dir, epochs):
    if os.path.exists(os.path.join(model_dir, "traclens-model.json")):
        return json.load(open(os.path.join(model_dir, "traclens-model.json")))
    torch.manual_seed(0)
    x, y = load_train()
    model = Net()
    writer = CheckpointWriter(model_dir, classes=CLASSES, channels=1, height=28, width=28, mean=[MEAN], std=[STD])
    lr = 0.05
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for epoch in range(epochs):
        perm = torch.randperm(len(x))
        model.train()
        for b in range(0, len(x), 64):
            idx = perm[b:b + 64]
            opt.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
        writer.save(model, learning_rate=lr)
        print("trained epoch %d (lr %g)" % (epoch + 1, lr), flush=True)
        lr *= 0.5
        for g in opt.param_groups:
            g["lr"] = lr
    return writer.manifest()


def pytorch_reference(model_dir, manifest, batch):
    """Returns (seconds, top ids) for the self-influence ranking of the training split."""
    t0 = time.perf_counter()
    x, y = load_train()
    total = torch.zeros(len(x), dtype=torch.float64)
    for cp in manifest["checkpoints"]:
        model = Net()
        model.load_state_dict(torch.jit.load(os.path.join(model_dir, cp["file"])).state_dict())
        model.eval()
        eta = cp["learning_rate"]
        with torch.no_grad():
            for b in range(0, len(x), batch):
                h = model.embed(x[b:b + batch])
                e = F.softmax(model.fc(h), dim=1) - F.one_hot(y[b:b + batch], 10).float()
                total[b:b + batch] += eta * (e.pow(2).sum(1) * (h.pow(2).sum(1) + 1)).double()
    order = torch.argsort(total, descending=True)
    return time.perf_counter() - t0, order[:100].tolist()


def traclens(cli, work, model_dir, threads, tag):
    project = os.path.join(work, "fm-%s.traclens" % tag)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(project + suffix):
            os.remove(project + suffix)
    times = {}

    def run(step, *args):
        t0 = time.perf_counter()
        out = subprocess.run([cli, step, project, *args], check=True, capture_output=True, text=True).stdout
        times[step] = time.perf_counter() - t0
        return out

    run("import", DATA, "--quiet")
    run("import-model", model_dir, "--quiet")
    compute = json.loads(run("compute", "--threads", str(threads), "--json", "--quiet"))
    run("self-influence", "--split", "train", "--top", "100", "--quiet")
    return times, compute


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.work, exist_ok=True)
    model_dir = os.path.join(a.work, "fm-model")
    manifest = train(model_dir, a.epochs)
    print("checkpoints: %s, threads %d, batch %d" % (
        ", ".join("%s (lr %g)" % (c["file"], c["learning_rate"]) for c in manifest["checkpoints"]), a.threads,
        a.batch))
    for r in range(a.repeats):
        print("repeat %d, load average %s" % (r + 1, " ".join(open("/proc/loadavg").read().split()[:3])))
        times, compute = traclens(a.cli, a.work, model_dir, a.threads, "r%d" % r)
        ref, top = pytorch_reference(model_dir, manifest, a.batch)
        total = sum(times.values())
        rest = total - times["import"]
        print("  traclens: import %.1f s, import-model %.1f s, compute %.1f s (%d vectors, %.0f/s in its loop), "
              "self-influence %.2f s" % (times["import"], times["import-model"], times["compute"],
                                         compute.get("computed", 0), compute.get("vectors_per_second", 0),
                                         times["self-influence"]))
        print("  traclens total %.1f s (70,000 examples: train + test), without import %.1f s" % (total, rest))
        print("  pytorch reference %.1f s (60,000 training examples, eager)" % ref)
        print("  ratio traclens / pytorch: total %.2f, without import %.2f" % (total / ref, rest / ref))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
