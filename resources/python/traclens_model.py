"""Write PyTorch checkpoints that TracLens can import (format ``traclens-model/1``).

Only ``torch`` is needed. Copy this file next to your training script.

The model contract
------------------
TracIn in TracLens works on the last layer, so the model must expose it:

* ``forward(x)`` takes a float32 batch ``[N, C, H, W]``, normalised as described
  by ``mean``/``std`` below, and returns the logits ``[N, K]``;
* ``embed(x)``, marked ``@torch.jit.export``, returns the penultimate features
  ``h`` of shape ``[N, D]``;
* ``self.fc`` is a ``torch.nn.Linear(D, K)`` (with bias), and
  ``forward(x) == self.fc(self.embed(x))``.

TracLens checks all of this when it imports the directory: a missing ``embed``
or ``fc``, a class count that differs from ``fc``'s outputs, a forward that
does anything after ``fc``, or NaN/Inf in any weight is refused with a message
naming the checkpoint.

Train with plain SGD (no momentum, no Adam) if you can: TracIn sums
``learning_rate * grad . grad'`` over checkpoints, which is a first-order account
of exactly that update rule. Save a checkpoint every epoch or so and pass the
learning rate that was in force while training up to it.

Example
-------
::

    import torch, torch.nn as nn, torch.nn.functional as F
    from traclens_model import CheckpointWriter

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 64), nn.ReLU())
            self.fc = nn.Linear(64, 10)

        @torch.jit.export
        def embed(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(x)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.embed(x))

    model = Net()
    writer = CheckpointWriter("my-model", classes=[str(i) for i in range(10)],
                              channels=1, height=28, width=28,
                              mean=[0.1307], std=[0.3081])
    lr = 0.05
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for epoch in range(3):
        for x, y in loader:          # x already normalised with mean/std
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        writer.save(model, learning_rate=lr)   # my-model/ckpt-<epoch>.pt
        lr *= 0.5
        for g in opt.param_groups:
            g["lr"] = lr

Then import ``my-model`` in TracLens (Project > Import Model...).
"""

import json
import math
import os
import tempfile

import torch

FORMAT = "traclens-model/1"
MANIFEST = "traclens-model.json"

__all__ = ["CheckpointWriter", "check_model", "FORMAT", "MANIFEST"]


def check_model(model, channels, height, width, num_classes=None, atol=1e-4):
    """Checks the contract above on a random batch; raises ValueError saying what is wrong.

    ``model`` may be an ``nn.Module`` or a ``torch.jit.ScriptModule``.
    """
    fc = getattr(model, "fc", None)
    if fc is None:
        raise ValueError("the model has no submodule 'fc'")
    weight = getattr(fc, "weight", None)
    bias = getattr(fc, "bias", None)
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2:
        raise ValueError("fc must be a torch.nn.Linear")
    if not isinstance(bias, torch.Tensor):
        raise ValueError("fc needs a bias (torch.nn.Linear(D, K, bias=True))")
    if num_classes is not None and weight.shape[0] != num_classes:
        raise ValueError("fc has %d outputs but %d classes are listed" % (weight.shape[0], num_classes))
    if not hasattr(model, "embed"):
        raise ValueError("the model has no method 'embed' (mark it with @torch.jit.export)")
    for name, p in list(model.named_parameters()) + list(model.named_buffers()):
        if p.is_floating_point() and not torch.isfinite(p).all():
            raise ValueError("weight '%s' holds NaN or Inf" % name)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            gen = torch.Generator().manual_seed(0)
            x = torch.randn(2, channels, height, width, generator=gen)
            z = model(x)
            h = model.embed(x)
            if h.dim() != 2 or h.shape[1] != weight.shape[1]:
                raise ValueError("embed(x) returns shape %s but fc expects [N, %d]" % (tuple(h.shape), weight.shape[1]))
            diff = (z - fc(h)).abs().max().item()
            if diff > atol * max(1.0, z.abs().max().item()):
                raise ValueError("forward(x) differs from fc(embed(x)) by %g" % diff)
    finally:
        model.train(was_training)


class CheckpointWriter:
    """Writes ``ckpt-<n>.pt`` TorchScript checkpoints and keeps ``traclens-model.json`` current.

    The manifest is rewritten (atomically) after every checkpoint, so a run that stops
    early still leaves a directory TracLens can import.
    """

    def __init__(self, directory, classes, channels, height, width, mean, std, check=True):
        classes = [str(c) for c in classes]
        if len(classes) < 2 or len(set(classes)) != len(classes):
            raise ValueError("classes must be at least 2 distinct names")
        if channels not in (1, 3):
            raise ValueError("channels must be 1 or 3")
        mean = [float(m) for m in mean]
        std = [float(s) for s in std]
        if len(mean) != channels or len(std) != channels:
            raise ValueError("mean and std need one value per channel")
        if any(not s > 0 for s in std):
            raise ValueError("every std must be greater than 0")
        self.directory = os.path.abspath(directory)
        self.classes = classes
        self.input = {"channels": int(channels), "height": int(height), "width": int(width),
                      "mean": mean, "std": std}
        self.checkpoints = []
        self.check = check
        os.makedirs(self.directory, exist_ok=True)

    def save(self, model, learning_rate, name=None):
        """Scripts ``model``, saves it as ``name`` (default ``ckpt-<n>.pt``, n counting
        from 1) and adds it to the manifest with ``learning_rate``. Returns the path."""
        learning_rate = float(learning_rate)
        if not (learning_rate > 0 and math.isfinite(learning_rate)):
            raise ValueError("learning_rate must be a positive number")
        if self.check:
            check_model(model, self.input["channels"], self.input["height"], self.input["width"],
                        len(self.classes))
        if name is None:
            name = "ckpt-%d.pt" % (len(self.checkpoints) + 1)
        was_training = model.training
        model.eval()
        try:
            scripted = model if isinstance(model, torch.jit.ScriptModule) else torch.jit.script(model)
            path = os.path.join(self.directory, name)
            tmp = path + ".part"
            scripted.save(tmp)
            os.replace(tmp, path)
        finally:
            model.train(was_training)
        self.checkpoints = [c for c in self.checkpoints if c["file"] != name]
        self.checkpoints.append({"file": name, "learning_rate": learning_rate})
        self.write_manifest()
        return path

    def manifest(self):
        return {"format": FORMAT, "classes": self.classes, "input": self.input,
                "checkpoints": list(self.checkpoints)}

    def write_manifest(self):
        fd, tmp = tempfile.mkstemp(prefix=".traclens-model-", suffix=".json", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.manifest(), f, indent=2)
                f.write("\n")
            # mkstemp creates the file private (0600); a manifest is meant to be shared.
            os.chmod(tmp, 0o644)
            os.replace(tmp, os.path.join(self.directory, MANIFEST))
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
