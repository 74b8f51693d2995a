#!/usr/bin/env python3
"""A small Fashion-MNIST with planted label flips, as IDX files, for measuring flag rules.

  python3 docs/scripts/noisy-subset.py /usr/share/datasets/fashion-mnist OUT [train=2000] [test=1000] [flip=0.1]

Writes OUT/data/*.gz (the first `train` training and `test` test images; each training label
flipped to another class with probability `flip`, seed 1) and OUT/flipped.txt (the example
ids, 1-based in import order, whose label was flipped).
"""
import gzip, os, random, struct, sys

src, out = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
m = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
rate = float(sys.argv[5]) if len(sys.argv) > 5 else 0.1
rd = lambda name: gzip.open(os.path.join(src, name)).read()
ti, tl = rd("train-images-idx3-ubyte.gz"), rd("train-labels-idx1-ubyte.gz")
si, sl = rd("t10k-images-idx3-ubyte.gz"), rd("t10k-labels-idx1-ubyte.gz")
random.seed(1)
labels = list(tl[8:8 + n])
for i in range(n):
    if random.random() < rate:
        labels[i] = (labels[i] + random.randint(1, 9)) % 10
os.makedirs(os.path.join(out, "data"), exist_ok=True)
def images(name, data, k):
    gzip.open(os.path.join(out, "data", name), "wb").write(struct.pack(">IIII", 2051, k, 28, 28) + data[16:16 + k * 784])
def labelfile(name, values):
    gzip.open(os.path.join(out, "data", name), "wb").write(struct.pack(">II", 2049, len(values)) + bytes(values))
images("train-images-idx3-ubyte.gz", ti, n)
labelfile("train-labels-idx1-ubyte.gz", labels)
images("t10k-images-idx3-ubyte.gz", si, m)
labelfile("t10k-labels-idx1-ubyte.gz", list(sl[8:8 + m]))
flipped = [str(i + 1) for i in range(n) if labels[i] != tl[8 + i]]
open(os.path.join(out, "flipped.txt"), "w").write("\n".join(flipped) + "\n")
print(f"{n} train ({len(flipped)} flipped), {m} test")
