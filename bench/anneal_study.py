"""How much a retraining's test accuracy moves from seed to seed under the step and the cosine
learning-rate schedules, and what a review of 1,000 examples gains: a simulation of the cleaning
loop on a 10,000-image Fashion-MNIST subset (docs/adaptive-training.md, "The scored run anneals").

usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/anneal_study.py step|cosine EPOCHS SEEDS [uniform|pair|confusion] [rate]
       e.g. bench/anneal_study.py cosine 6 1,2,3,4,5,6 confusion 0.3

The built-in CNN's architecture (bench/ranking_study.py), plain SGD, batch 64, η = 0.05: step
halves it every 4 epochs, cosine anneals it to near zero over EPOCHS (the rate of epoch e is the
cosine at its middle, as core/model/trainer.cpp does). Confusion noise draws flips from the
confusion matrix in docs/evaluation/fashion-mnist-confusion30-cleaning. For each seed: the
model on the noisy labels, then retrained after fixing the flips among the 1,000 examples of
highest loss ("queue") and among 1,000 random ones ("random"); test accuracy on all 10,000
test images. Needs python3-torch, python3-numpy and dataset-fashion-mnist.
"""
import sys, time, numpy as np, torch, torch.nn.functional as F
import fmnist_study
from fmnist_study import load, noisy_labels
torch.set_num_threads(1)
sched = sys.argv[1]; E = int(sys.argv[2]); seeds = [int(s) for s in sys.argv[3].split(",")]
kind = sys.argv[4] if len(sys.argv) > 4 else "confusion"; noise_rate = float(sys.argv[5]) if len(sys.argv) > 5 else 0.3
N = 10000
X, Y, XT, YT, sub = load(N); X = X[sub]; Y = Y[sub]
def train(y, seed):
    m = fmnist_study.train(X, y, seed, E, sched)
    with torch.no_grad():
        acc = (m(XT).argmax(1) == YT).float().mean().item() * 100
        loss = F.cross_entropy(m(X), y, reduction='none')
    return acc, loss
yn = noisy_labels(Y, kind, noise_rate); isflip = (yn != Y)
for s in seeds:
    t = time.time()
    a0, loss = train(yn, s)
    top = torch.argsort(loss, descending=True)[:1000]
    yq = yn.clone(); yq[top] = Y[top]; fq = int(isflip[top].sum())
    rnd = torch.tensor(np.random.default_rng(100 + s).permutation(N)[:1000])
    yr = yn.clone(); yr[rnd] = Y[rnd]; fr = int(isflip[rnd].sum())
    aq, _ = train(yq, s); ar, _ = train(yr, s)
    print(f"{kind} {noise_rate} {sched} E={E} seed {s}: noisy {a0:.2f} queue({fq}) {aq:.2f} gain {aq-a0:+.2f} random({fr}) {ar:.2f} gain {ar-a0:+.2f} [{time.time()-t:.0f}s]", flush=True)
