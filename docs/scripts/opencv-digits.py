#!/usr/bin/env python3
"""A second image dataset for docs/evaluation: OpenCV's handwritten digits as an ImageFolder.

  /usr/bin/python3 docs/scripts/opencv-digits.py OUT

Reads /usr/share/doc/opencv-doc/examples/data/digits.png (Debian package opencv-doc: 5,000
20x20 digits in one 2000x1000 sheet, five rows of 100 per class) and writes
OUT/digits/{train,test}/<class>/<class>_<index>.png: of each class's 500 images, a seeded
150 go to test and 350 to train (3,500 / 1,500 in all). Needs python3-pil and numpy; seeded,
so the files are the same on every run.
"""
import os
import random
import sys

import numpy as np
from PIL import Image

out = os.path.join(sys.argv[1], "digits")
sheet = np.array(Image.open("/usr/share/doc/opencv-doc/examples/data/digits.png").convert("L"))
rng = random.Random(7)
for c in range(10):
    cells = []
    for r in range(5 * c, 5 * c + 5):
        for k in range(100):
            cells.append(sheet[r * 20:(r + 1) * 20, k * 20:(k + 1) * 20])
    order = list(range(len(cells)))
    rng.shuffle(order)
    for j, i in enumerate(order):
        split = "test" if j < 150 else "train"
        folder = os.path.join(out, split, str(c))
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(cells[i]).save(os.path.join(folder, f"{c}_{i:03d}.png"))
