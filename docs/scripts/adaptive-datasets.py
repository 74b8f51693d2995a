#!/usr/bin/env python3
"""Data sets for docs/adaptive-training.md, as IDX folders `traclens-cli evaluate` imports.

  python3 docs/scripts/adaptive-datasets.py OUT

Writes
  OUT/digits/  sklearn's 8x8 digits (python3-sklearn's digits.csv.gz), pixel values 0-16
               scaled to 0-255; a seeded 1 497 train / 300 test split.
  OUT/shapes/  a generated many-class set: 100 classes, each a random prototype of three
               bars and a dot on 28x28, drawn with a random shift of up to 3 pixels, random
               stroke brightness and pixel noise; 50 train and 10 test images per class.
Pure Python (no numpy); seeded, so the files are the same on every run.
"""
import gzip, os, random, struct, sys

out = sys.argv[1]


def write_idx(folder, prefix, images, labels, h, w):
    os.makedirs(folder, exist_ok=True)
    with gzip.open(os.path.join(folder, prefix + "-images-idx3-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">IIII", 2051, len(images), h, w))
        for img in images:
            f.write(bytes(img))
    with gzip.open(os.path.join(folder, prefix + "-labels-idx1-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">II", 2049, len(labels)) + bytes(labels))


def digits():
    path = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
    rows = [list(map(int, line.split(","))) for line in gzip.open(path, "rt") if line.strip()]
    rng = random.Random(1)
    rng.shuffle(rows)
    images = [[min(255, v * 16) for v in r[:64]] for r in rows]
    labels = [r[64] for r in rows]
    folder = os.path.join(out, "digits")
    write_idx(folder, "train", images[300:], labels[300:], 8, 8)
    write_idx(folder, "t10k", images[:300], labels[:300], 8, 8)
    print(f"digits: {len(rows) - 300} train, 300 test")


def shapes(classes=100, train_per=50, test_per=10, size=28):
    rng = random.Random(7)
    protos = []
    for _ in range(classes):
        bars = []
        for _ in range(3):
            horizontal = rng.random() < 0.5
            length = rng.randint(6, 16)
            x, y = rng.randint(3, size - 4 - (length if horizontal else 0)), rng.randint(3, size - 4 - (0 if horizontal else length))
            bars.append((horizontal, x, y, length))
        dot = (rng.randint(4, size - 6), rng.randint(4, size - 6))
        protos.append((bars, dot))

    def draw(proto):
        bars, dot = proto
        dx, dy = rng.randint(-3, 3), rng.randint(-3, 3)
        img = [max(0, min(255, int(rng.gauss(30, 20)))) for _ in range(size * size)]
        def put(x, y, v):
            x, y = x + dx, y + dy
            if 0 <= x < size and 0 <= y < size:
                img[y * size + x] = v
        for horizontal, x, y, length in bars:
            v = rng.randint(150, 255)
            for k in range(length):
                for t in (0, 1):
                    put(x + k, y + t, v) if horizontal else put(x + t, y + k, v)
        for ox in range(3):
            for oy in range(3):
                put(dot[0] + ox, dot[1] + oy, 255)
        return img

    folder = os.path.join(out, "shapes")
    for prefix, per in (("train", train_per), ("t10k", test_per)):
        images, labels = [], []
        for i in range(per):
            for c in range(classes):
                images.append(draw(protos[c]))
                labels.append(c)
        write_idx(folder, prefix, images, labels, size, size)
    print(f"shapes: {classes} classes, {classes * train_per} train, {classes * test_per} test")


digits()
shapes()
