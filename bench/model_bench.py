"""Imported-model speed: PyTorch (eager, scripted, frozen) against `traclens-cli compute`
on the same torchvision ResNet-18 (saved with the helper's three lines, so TracLens
prepares the pixels as the ImageFolder transform does) and the same photos, in one run.

usage: model_bench.py --cli build/app/cli/traclens-cli --work DIR [--images 4000]
                      [--threads 2] [--batch 256] [--repeats 2]

Writes DIR/images (ImageFolder: 10 class folders, half JPEG, half PNG, 64×64 RGB),
DIR/model (traclens-model/1, one checkpoint, random weights) and DIR/project-*.traclens,
then prints one line per figure. Each repeat measures every PyTorch variant and one
TracLens compute back to back, so all see the same machine load.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torchvision
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "resources", "python"))
from traclens_model import CheckpointWriter  # noqa: E402

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
SIZE, CLASSES = 64, 10


def make_images(root, count, seed=0):
    """Photo-like 64×64 images: smooth colour gradients, a few blobs, sensor noise."""
    if os.path.isdir(root) and sum(len(f) for _, _, f in os.walk(root)) >= count:
        return
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE
    for i in range(count):
        label = i % CLASSES
        d = os.path.join(root, "class%d" % label)
        os.makedirs(d, exist_ok=True)
        c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        t = (xx * rng.uniform(-1, 1) + yy * rng.uniform(-1, 1)) % 1.0
        img = c0[None, None, :] * (1 - t[..., None]) + c1[None, None, :] * t[..., None]
        for _ in range(3):
            cx, cy, r = rng.uniform(0, 1, 2).tolist() + [rng.uniform(0.05, 0.3)]
            mask = ((xx - cx) ** 2 + (yy - cy) ** 2) < r * r
            img[mask] = rng.uniform(0, 255, 3)
        img += rng.normal(0, 8, img.shape)
        im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
        if i % 2:
            im.save(os.path.join(d, "img%05d.png" % i))
        else:
            im.save(os.path.join(d, "img%05d.jpg" % i), quality=90)


def eval_transform():
    import torchvision.transforms as T
    return T.Compose([T.ToTensor(), T.Normalize(MEAN, STD)])


def make_model(directory):
    """The user's model, saved with the helper's three lines; returns the plain torchvision model."""
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=CLASSES).eval()
    if not os.path.exists(os.path.join(directory, "traclens-model.json")):
        writer = CheckpointWriter(directory, classes=["class%d" % c for c in range(CLASSES)],
                                  transform=eval_transform(), input_size=(SIZE, SIZE))
        writer.save(model, learning_rate=0.1)
    return model


def loader(root, batch):
    ds = torchvision.datasets.ImageFolder(root, eval_transform())
    return torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=False, num_workers=0)


def rate_with_decode(fn, root, batch):
    n, t0 = 0, time.perf_counter()
    with torch.inference_mode():
        for x, _ in loader(root, batch):
            fn(x)
            n += len(x)
    return n / (time.perf_counter() - t0)


def rate_inference_only(fn, batches):
    n, t0 = 0, time.perf_counter()
    with torch.inference_mode():
        for x in batches:
            fn(x)
            n += len(x)
    return n / (time.perf_counter() - t0)


def traclens_compute(cli, work, images, model_dir, threads, tag):
    """import + import-model untimed; compute timed from outside and by the CLI itself."""
    project = os.path.join(work, "project-%s.traclens" % tag)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(project + suffix):
            os.remove(project + suffix)
    run = lambda *a: subprocess.run([cli, *a], check=True, capture_output=True, text=True)
    run("import", project, images, "--quiet")
    run("import-model", project, model_dir, "--quiet")
    t0 = time.perf_counter()
    out = run("compute", project, "--threads", str(threads), "--json", "--quiet").stdout
    wall = time.perf_counter() - t0
    summary = json.loads(out)
    return summary, wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--images", type=int, default=4000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.work, exist_ok=True)
    images, model_dir = os.path.join(a.work, "images"), os.path.join(a.work, "model")
    make_images(images, a.images)
    # The user's torchvision model as PyTorch runs it: eager, scripted, frozen + optimised.
    eager = make_model(model_dir)
    scripted = torch.jit.script(eager)
    frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(eager).eval()))
    variants = {"eager": eager.forward, "scripted": scripted.forward, "frozen": frozen.forward}
    with torch.inference_mode():
        x0 = next(iter(loader(images, a.batch)))[0]
        for fn in variants.values():  # warm-up: TorchScript profiles and optimises on first calls
            fn(x0)
            fn(x0)
    decoded = [x for x, _ in loader(images, a.batch)]
    print("images: %d (%s), batch %d, threads %d, torch %s" % (sum(len(x) for x in decoded), images, a.batch,
                                                               a.threads, torch.__version__))
    for r in range(a.repeats):
        print("repeat %d, load average %s" % (r + 1, " ".join(open("/proc/loadavg").read().split()[:3])))
        for name, fn in variants.items():
            print("  pytorch %-8s  with decode %6.0f images/s   inference only %6.0f images/s"
                  % (name, rate_with_decode(fn, images, a.batch), rate_inference_only(fn, decoded)))
        summary, wall = traclens_compute(a.cli, a.work, images, model_dir, a.threads, "r%d" % r)
        print("  traclens compute  %6.0f vectors/s in its loop (decode + inference + SQLite), "
              "%d vectors, process %.1f s (incl. checkpoint load and self-influence)"
              % (summary.get("vectors_per_second", 0), summary.get("computed", 0), wall))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
