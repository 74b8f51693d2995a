"""Write PyTorch checkpoints that TracLens can import (format ``traclens-model/1``).

Needs ``torch`` only (torchvision models and transforms are recognised by name, without
importing torchvision). Installed with TracLens where ``python3`` finds it:
``/usr/lib/python3/dist-packages/traclens_model.py`` from the ``.deb`` (prefix ``/usr``),
``<prefix>/lib/python3.X/dist-packages/`` for other prefixes (``/usr/local`` is on Debian's
``sys.path``; for another prefix add that folder to ``PYTHONPATH``), and a copy in
``<prefix>/share/traclens/python/``. Or copy this file next to your training script.

Three lines in a training loop
------------------------------
::

    from traclens_model import CheckpointWriter
    writer = CheckpointWriter("my-model", classes=train_set.classes, transform=eval_transform)
    ...
        writer.save(model, learning_rate=lr)     # once per checkpoint: my-model/ckpt-<n>.pt

``model`` is any classifier ``nn.Module`` whose ``forward(x)`` returns the logits of a
normalised batch ``[N, C, H, W]`` through a last ``nn.Linear`` layer, for instance every
torchvision classifier (ResNet, RegNet, MobileNet, EfficientNet, VGG, ConvNeXt, ViT, Swin,
DenseNet, ShuffleNet, MNASNet, ...) and timm models. ``classes`` are the class names in
label order (``ImageFolder.classes``: sorted folder names, as TracLens sorts them too).
``eval_transform`` is the *evaluation* transform, a ``transforms.Compose`` of ``Resize``,
``CenterCrop``, ``Grayscale``, ``ToTensor`` and ``Normalize``.

What ``save`` finds
-------------------
TracIn in TracLens works on the last linear layer, so each checkpoint is a TorchScript
module with ``forward(x) == fc(embed(x))``, an exported ``embed(x)`` returning the
penultimate features ``h`` ``[N, D]`` and ``fc``, a ``torch.nn.Linear(D, K)`` with bias.

* A module that already has ``embed`` (``@torch.jit.export``) and ``fc`` is saved as it is.
* Otherwise ``save`` finds the last linear layer: ``head=`` if you pass its dotted name
  (``head="classifier.3"``); else timm's ``get_classifier()``; else the first of ``fc``
  (ResNet, RegNet, ShuffleNet, GoogLeNet, Inception), ``classifier`` / ``classifier[-1]``
  (MobileNet, EfficientNet, VGG, ConvNeXt, DenseNet, MNASNet, AlexNet, MaxViT),
  ``heads.head`` (ViT), ``head`` (Swin) that is an ``nn.Linear``; else the last
  ``nn.Linear`` with one output per class. It then builds a module from a deep copy of
  your model (on the CPU, float32) in which that layer is ``nn.Identity``: ``embed(x)``
  runs that body, ``fc`` is a copy of the layer, ``forward(x) = fc(embed(x))``.

What ``save`` checks (``ValueError`` saying what is wrong and what to pass)
------------------------------------------------------------------------
On a random batch of two inputs of the recorded size, in eval mode:

* the layer is an ``nn.Linear`` with a bias and one output per class;
* your model calls it exactly once and returns its output unchanged (no softmax, scale or
  other layer after it);
* the saved module's logits equal your model's within ``1e-5 * max(1, max |logit|)``
  (``ATOL``), both before and after conversion to TorchScript;
* ``embed(x)`` is ``[N, D]`` with ``D`` the layer's inputs;
* no weight, buffer, logit or feature is NaN or Inf.

The module is compiled with ``torch.jit.script``; when TorchScript cannot compile a
forward (GoogLeNet's and Inception's, some timm models), ``forward`` and ``embed`` are traced
(``torch.jit.trace_module``, eval mode) instead and also checked on a batch of another size.

``check=False`` skips all of this and converts the module exactly as given (TracLens still
checks the contract when it imports the directory).

The manifest
------------
``my-model/traclens-model.json`` is rewritten (atomically) after every checkpoint, so a run
that stops early still leaves a directory TracLens can import::

    {"format": "traclens-model/1",
     "classes": ["cat", "dog"],
     "input": {"channels": 3, "height": 224, "width": 224,
               "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
               "transforms": [{"op": "resize", "size": [256], "interpolation": "bilinear"},
                              {"op": "center_crop", "size": [224, 224]}]},
     "checkpoints": [{"file": "ckpt-1.pt", "learning_rate": 0.01}]}

With ``transforms``, TracLens prepares each image as ImageFolder + your transform does
(PIL ``convert("RGB")``, then the ops in order, then ``ToTensor`` and ``Normalize``). Random
transforms (``RandomResizedCrop``, ``RandomHorizontalFlip``, ``ColorJitter``, ...) are
refused: pass the evaluation transform, not the training one. When the size cannot be
derived (``Resize(256)`` without a crop keeps each image's aspect ratio), pass
``input_size=(h, w)``; images of another size then fail with an error naming them.

Without ``transform``, give the input explicitly as before:
``CheckpointWriter(dir, classes, channels=1, height=28, width=28, mean=[0.1307], std=[0.3081])``;
TracLens then resizes each whole image to height x width (area interpolation).

Train with plain SGD
--------------------
Use plain SGD (no momentum, no Adam) if you can: TracIn sums
``learning_rate * grad . grad'`` over checkpoints, which is a first-order account of
exactly that update rule. Save a checkpoint every epoch or so and pass the learning rate
that was in force while training up to it.

Example
-------
::

    import torch, torch.nn.functional as F, torchvision
    from torchvision import transforms as T
    from traclens_model import CheckpointWriter

    train_tf = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(),
                          T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    eval_tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                         T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    train_set = torchvision.datasets.ImageFolder("data/train", train_tf)
    loader = torch.utils.data.DataLoader(train_set, batch_size=32, shuffle=True)
    model = torchvision.models.resnet18(num_classes=len(train_set.classes))
    writer = CheckpointWriter("my-model", classes=train_set.classes, transform=eval_tf)
    lr = 0.05
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for epoch in range(3):
        model.train()
        for x, y in loader:
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        writer.save(model, learning_rate=lr)
        lr *= 0.5
        for g in opt.param_groups:
            g["lr"] = lr

Then import ``my-model`` in TracLens (Project > Import Model..., or
``traclens-cli import-model project.traclens my-model``).
"""

import copy
import json
import math
import os
import tempfile

import torch
import torch.nn as nn

FORMAT = "traclens-model/1"
MANIFEST = "traclens-model.json"
# Relative tolerance of the logit comparisons, scaled by max(1, max |logit|).
ATOL = 1e-5

__all__ = ["CheckpointWriter", "check_model", "find_head", "wrap_model", "describe_transform",
           "FORMAT", "MANIFEST", "ATOL"]


# --------------------------------------------------------------------------- contract

def check_model(model, channels, height, width, num_classes=None, atol=1e-4):
    """Checks the embed/fc contract on a random batch; raises ValueError saying what is wrong.

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
    _check_finite_weights(model)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            x = _random_batch(model, channels, height, width)
            z = model(x)
            h = model.embed(x)
            if not isinstance(h, torch.Tensor) or h.dim() != 2 or h.shape[1] != weight.shape[1]:
                shape = tuple(h.shape) if isinstance(h, torch.Tensor) else type(h).__name__
                raise ValueError("embed(x) returns shape %s but fc expects [N, %d]" % (shape, weight.shape[1]))
            if not torch.isfinite(h).all() or not torch.isfinite(z).all():
                raise ValueError("forward(x) or embed(x) returns NaN or Inf on a random batch")
            diff = (z - fc(h)).abs().max().item()
            if diff > atol * max(1.0, z.abs().max().item()):
                raise ValueError("forward(x) differs from fc(embed(x)) by %g" % diff)
    finally:
        model.train(was_training)


def _random_batch(model, channels, height, width):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, channels, height, width, generator=gen)
    for p in model.parameters():
        return x.to(device=p.device)
    return x


def _check_finite_weights(model):
    for name, p in list(model.named_parameters()) + list(model.named_buffers()):
        if p.is_floating_point() and not torch.isfinite(p).all():
            raise ValueError("weight '%s' holds NaN or Inf" % name)


def _meets_contract(model):
    return hasattr(model, "embed") and isinstance(getattr(model, "fc", None), nn.Module)


# --------------------------------------------------------------------------- the last layer

# Attribute paths tried in order when no head= is given (after timm's get_classifier()).
_KNOWN_HEADS = ("fc", "classifier", "classifier.-1", "heads.head", "head", "head.fc")


def _submodule(model, dotted):
    """The submodule at a dotted path; a number indexes a Sequential/ModuleList (negative too)."""
    module = model
    for part in dotted.split("."):
        if isinstance(module, (nn.Sequential, nn.ModuleList)) and part.lstrip("-").isdigit():
            index = int(part)
            if not -len(module) <= index < len(module):
                return None
            module = module[index]
        else:
            module = module._modules.get(part) if hasattr(module, "_modules") else None
        if module is None:
            return None
    return module


def _name_of(model, target):
    for name, module in model.named_modules():
        if module is target:
            return name
    return None


def find_head(model, num_classes=None, head=None):
    """Returns ``(name, layer)``: the dotted name of the model's last linear layer and the layer.

    ``head`` names it explicitly (``"classifier.3"``). Raises ValueError when nothing fits.
    """
    if head is not None:
        layer = _submodule(model, head)
        if layer is None:
            raise ValueError("the model has no submodule '%s' (head=); its linear layers are: %s"
                             % (head, _linear_names(model)))
        if not isinstance(layer, nn.Linear):
            raise ValueError("head='%s' is a %s, not a torch.nn.Linear; TracIn in TracLens needs the last "
                             "layer to be linear" % (head, type(layer).__name__))
        return head, layer
    getter = getattr(model, "get_classifier", None)
    if callable(getter):
        try:
            layer = getter()
        except Exception:  # noqa: BLE001 - a foreign method; fall back to the names below
            layer = None
        if isinstance(layer, nn.Linear):
            name = _name_of(model, layer)
            if name:
                return name, layer
    mismatch = None
    for path in _KNOWN_HEADS:
        layer = _submodule(model, path)
        name = _name_of(model, layer) if isinstance(layer, nn.Linear) else None
        if not name:
            continue
        if num_classes is None or layer.out_features == num_classes:
            return name, layer
        mismatch = mismatch or (name, layer)
    candidates = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)
                  and (num_classes is None or m.out_features == num_classes)]
    if candidates:
        return candidates[-1]
    if mismatch:
        raise ValueError("the last linear layer '%s' has %d outputs but %d classes are listed; pass all class "
                         "names in label order, or head='...' naming the layer that produces the logits"
                         % (mismatch[0], mismatch[1].out_features, num_classes))
    linears = _linear_names(model)
    if linears != "none":
        raise ValueError("no linear layer with %s outputs (one per class) found; its linear layers are: %s; "
                         "pass head='...' naming the last one, or check the class list"
                         % (num_classes, linears))
    raise ValueError("no linear layer found in %s; TracIn in TracLens needs a model whose logits come from "
                     "a torch.nn.Linear; pass head='...' naming it" % type(model).__name__)


def _linear_names(model):
    names = ["%s (%d -> %d)" % (n, m.in_features, m.out_features)
             for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    return ", ".join(names) if names else "none"


class _LastLayerModel(nn.Module):
    """``embed(x) = body(x)`` (the model with its last linear layer replaced by Identity),
    ``forward(x) = fc(embed(x))``."""

    def __init__(self, body, fc):
        super().__init__()
        self.body = body
        self.fc = fc

    @torch.jit.export
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.embed(x))


class _TracedLastLayerModel(nn.Module):
    # The same for torch.jit.trace_module, which would compile an exported embed.
    def __init__(self, body, fc):
        super().__init__()
        self.body = body
        self.fc = fc

    def embed(self, x):
        return self.body(x)

    def forward(self, x):
        return self.fc(self.embed(x))


def _set_submodule(model, dotted, new):
    parent_name, _, leaf = dotted.rpartition(".")
    parent = _submodule(model, parent_name) if parent_name else model
    if isinstance(parent, (nn.Sequential, nn.ModuleList)) and leaf.lstrip("-").isdigit():
        parent[int(leaf)] = new
    else:
        setattr(parent, leaf, new)


def _logits_of(output, what):
    if isinstance(output, torch.Tensor):
        return output
    raise ValueError("%s returns %s, not a tensor of logits; save a model whose forward(x) in eval mode "
                     "returns the logits [N, K]" % (what, type(output).__name__))


def _compare(expected, actual, what, advice):
    if actual.shape != expected.shape:
        raise ValueError("%s has shape %s but the model's logits are %s; %s"
                         % (what, tuple(actual.shape), tuple(expected.shape), advice))
    diff = (actual - expected).abs().max().item()
    tol = ATOL * max(1.0, expected.abs().max().item())
    if not diff <= tol:
        raise ValueError("%s differs from the model's logits by %g (tolerance %g); %s" % (what, diff, tol, advice))


def wrap_model(model, channels, height, width, num_classes=None, head=None):
    """Returns a checked ``nn.Module`` meeting the embed/fc contract built from a classifier.

    The module holds a CPU float32 deep copy of ``model``; ``model`` itself is not changed.
    Raises ValueError saying what is wrong.
    """
    return _wrap(model, channels, height, width, num_classes, head)[0]


def _wrap(model, channels, height, width, num_classes, head):
    # Also returns the random batch and the model's logits on it, to compare the scripted module.
    source = copy.deepcopy(model).cpu().float().eval()
    _check_finite_weights(source)
    name, layer = find_head(source, num_classes, head)
    where = "'%s'" % name
    if layer.bias is None:
        raise ValueError("the last linear layer %s has no bias; TracLens needs torch.nn.Linear(D, K, bias=True)"
                         % where)
    if num_classes is not None and layer.out_features != num_classes:
        raise ValueError("the last linear layer %s has %d outputs but %d classes are listed"
                         % (where, layer.out_features, num_classes))
    x = torch.randn(2, channels, height, width, generator=torch.Generator().manual_seed(0))
    calls = []
    hook = layer.register_forward_hook(lambda module, inputs, output: calls.append((inputs[0], output)))
    try:
        with torch.no_grad():
            try:
                z = _logits_of(source(x), "forward(x)")
            except ValueError:
                raise
            except Exception as e:  # noqa: BLE001 - report any failure of user code as a ValueError
                raise ValueError("the model fails on a batch [2, %d, %d, %d]: %s; check channels, height and "
                                 "width (or the transform)" % (channels, height, width, e)) from e
    finally:
        hook.remove()
    if not torch.isfinite(z).all():
        raise ValueError("the model returns NaN or Inf on a random batch")
    if len(calls) != 1:
        raise ValueError("the linear layer %s is called %d times in forward(x), not once as the last layer; "
                         "pass head='...' naming the layer that produces the logits"
                         % (where, len(calls)))
    h, out = calls[0]
    if out.shape != z.shape or not torch.equal(out, z):
        diff = (out - z).abs().max().item() if out.shape == z.shape else float("nan")
        raise ValueError("the layer after %s changes the output (its output %s, the model's logits %s, "
                         "largest difference %g): TracLens computes TracIn on the logits of the last linear "
                         "layer; return them from forward (move a softmax, scale or other layer into the loss) "
                         "or pass head='...' naming the last layer"
                         % (where, tuple(out.shape), tuple(z.shape), diff))
    if h.dim() != 2:
        raise ValueError("the input of %s has shape %s; TracLens needs features [N, D] (flatten before the "
                         "last layer)" % (where, tuple(h.shape)))
    fc = copy.deepcopy(layer)
    _set_submodule(source, name, nn.Identity())
    wrapped = _LastLayerModel(source, fc).eval()
    with torch.no_grad():
        try:
            features = wrapped.embed(x)
        except Exception as e:  # noqa: BLE001
            raise ValueError("the model without %s fails: %s; pass head='...' naming the last linear layer"
                             % (where, e)) from e
        if not isinstance(features, torch.Tensor) or features.dim() != 2 or features.shape[1] != fc.in_features:
            raise ValueError("without %s the model returns %s, not features [N, %d]; pass head='...' naming "
                             "the last linear layer" % (where, _shape(features), fc.in_features))
        if not torch.isfinite(features).all():
            raise ValueError("the features before %s hold NaN or Inf on a random batch" % where)
        _compare(z, fc(features), "fc(embed(x)) with fc = %s" % where,
                 "pass head='...' naming the last linear layer")
    return wrapped, (x, z)


def _shape(value):
    return "shape %s" % (tuple(value.shape),) if isinstance(value, torch.Tensor) else type(value).__name__


# --------------------------------------------------------------------------- transforms

_INTERPOLATIONS = {"bilinear": "bilinear", "bicubic": "bicubic", "nearest": "nearest",
                   # PIL's integer codes, which older torchvision accepted.
                   0: "nearest", 2: "bilinear", 3: "bicubic"}
_AUGMENTING = {"ColorJitter", "GaussianBlur", "AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix",
               "ElasticTransform", "RandomApply", "RandomChoice", "RandomOrder"}
_SUPPORTED = "Resize, CenterCrop, Grayscale, ToTensor and Normalize"


def _flatten_transforms(transform):
    if hasattr(transform, "transforms") and isinstance(getattr(transform, "transforms"), (list, tuple)) \
            and type(transform).__name__ in ("Compose", "Sequential"):
        items = transform.transforms
    elif isinstance(transform, nn.Sequential):
        items = list(transform)
    elif isinstance(transform, (list, tuple)):
        items = transform
    else:
        items = [transform]
    out = []
    for t in items:
        if type(t).__name__ == "Compose" or isinstance(t, (list, tuple, nn.Sequential)):
            out.extend(_flatten_transforms(t))
        else:
            out.append(t)
    return out


def _size_pair(size, what):
    if isinstance(size, int):
        size = [size]
    size = [int(s) for s in size]
    if len(size) not in (1, 2) or any(s <= 0 for s in size):
        raise ValueError("%s: size %s must be one or two positive numbers" % (what, size))
    return size


def _interpolation(t, what):
    mode = getattr(t, "interpolation", "bilinear")
    key = getattr(mode, "value", mode)
    if isinstance(key, str):
        key = key.lower()
    if key not in _INTERPOLATIONS:
        raise ValueError("%s: interpolation %s is not supported (bilinear, bicubic or nearest)" % (what, mode))
    return _INTERPOLATIONS[key]


def _floats(values):
    # Plain floats as written (0.485, not float32's 0.48500001430511475).
    if isinstance(values, torch.Tensor):
        return [float(v) for v in values.double().flatten().tolist()]
    if isinstance(values, (list, tuple)):
        return [float(v) for v in values]
    return [float(values)]


def describe_transform(transform, input_size=None):
    """The manifest's ``input`` object for an evaluation transform (see the module docstring).

    ``transform`` is a torchvision ``transforms.Compose`` (or a list of transforms).
    ``input_size=(h, w)`` gives the size when the transform does not fix it. Raises
    ValueError naming the transform that cannot be recorded.
    """
    ops = []
    channels = 3
    size = None  # (h, w) once fixed
    mean = std = None
    tensor = False
    for i, t in enumerate(_flatten_transforms(transform)):
        kind = type(t).__name__
        what = "transform %d (%s)" % (i, kind)
        if kind.startswith("Random") or kind in _AUGMENTING:
            raise ValueError("%s is a random augmentation; pass the evaluation transform (e.g. Resize + "
                             "CenterCrop + ToTensor + Normalize), not the training one" % what)
        if kind in ("Resize", "CenterCrop", "Grayscale") and tensor:
            raise ValueError("%s comes after ToTensor; TracLens reproduces it on PIL images only: put it "
                             "before ToTensor" % what)
        if kind == "Resize":
            s = _size_pair(t.size, what)
            op = {"op": "resize", "size": s, "interpolation": _interpolation(t, what)}
            max_size = getattr(t, "max_size", None)
            if max_size is not None:
                if len(s) != 1 or int(max_size) <= s[0]:
                    raise ValueError("%s: max_size %s needs a single size smaller than it" % (what, max_size))
                op["max_size"] = int(max_size)
            ops.append(op)
            size = (s[0], s[1]) if len(s) == 2 else None
        elif kind == "CenterCrop":
            s = _size_pair(t.size, what)
            size = (s[0], s[-1])
            ops.append({"op": "center_crop", "size": list(size)})
        elif kind == "Grayscale":
            channels = int(getattr(t, "num_output_channels", 1))
            if channels not in (1, 3):
                raise ValueError("%s: num_output_channels must be 1 or 3" % what)
            ops.append({"op": "grayscale", "channels": channels})
        elif kind == "ToTensor":
            if tensor:
                raise ValueError("%s: ToTensor appears twice" % what)
            tensor = True
        elif kind == "Normalize":
            if not tensor:
                raise ValueError("%s comes before ToTensor; Normalize works on the tensor" % what)
            if mean is not None:
                raise ValueError("%s: Normalize appears twice; TracLens records one" % what)
            mean, std = _floats(t.mean), _floats(t.std)
        else:
            raise ValueError("%s cannot be recorded in %s: TracLens reproduces %s; pass the evaluation "
                             "transform built from those" % (what, MANIFEST, _SUPPORTED))
    if not tensor:
        raise ValueError("the transform has no ToTensor; the evaluation transform must end with ToTensor() "
                         "(and usually Normalize(mean, std))")
    if mean is None:
        mean, std = [0.0] * channels, [1.0] * channels
    for name, values in (("mean", mean), ("std", std)):
        if len(values) == 1 and channels > 1:
            values[:] = values * channels
        if len(values) != channels:
            raise ValueError("Normalize has %d %s values but the images have %d channels"
                             % (len(values), name, channels))
    if any(not s > 0 for s in std):
        raise ValueError("Normalize: every std must be greater than 0")
    if input_size is not None:
        given = _size_pair(input_size, "input_size")
        if len(given) != 2:
            raise ValueError("input_size must be (height, width)")
        if size is not None and tuple(given) != size:
            raise ValueError("input_size=%s but the transform makes %dx%d images" % (tuple(given), size[0], size[1]))
        size = tuple(given)
    if size is None:
        raise ValueError("the transform does not fix the image size (Resize(int) keeps each image's aspect "
                         "ratio, and no CenterCrop follows); pass input_size=(height, width)")
    return {"channels": channels, "height": size[0], "width": size[1], "mean": mean, "std": std,
            "transforms": ops}


# --------------------------------------------------------------------------- the writer

class CheckpointWriter:
    """Writes ``ckpt-<n>.pt`` TorchScript checkpoints and keeps ``traclens-model.json`` current.

    Give the input either as ``transform=`` (the evaluation transform; ``input_size=(h, w)``
    when it does not fix the size) or as ``channels, height, width, mean, std``. ``head``
    names the last linear layer for every ``save`` (see the module docstring). The manifest
    is rewritten (atomically) after every checkpoint, so a run that stops early still leaves
    a directory TracLens can import. Raises ValueError on bad arguments.
    """

    def __init__(self, directory, classes, channels=None, height=None, width=None, mean=None, std=None,
                 check=True, transform=None, input_size=None, head=None):
        classes = [str(c) for c in classes]
        if len(classes) < 2 or len(set(classes)) != len(classes):
            raise ValueError("classes must be at least 2 distinct names")
        explicit = {"channels": channels, "height": height, "width": width, "mean": mean, "std": std}
        if transform is not None:
            described = describe_transform(transform, input_size)
            for key, value in explicit.items():
                if value is None:
                    continue
                if key in ("mean", "std"):
                    value = [float(v) for v in value]
                    if len(value) == 1 and described["channels"] > 1:
                        value = value * described["channels"]
                    same = len(value) == len(described[key]) and all(
                        abs(a - b) <= 1e-7 for a, b in zip(value, described[key]))
                else:
                    same = int(value) == described[key]
                if not same:
                    raise ValueError("%s=%s disagrees with the transform (%s); pass either transform= or "
                                     "the explicit input" % (key, value, described[key]))
            self.input = described
        else:
            missing = [k for k, v in explicit.items() if v is None]
            if missing:
                raise ValueError("pass transform=<the evaluation transform>, or all of channels, height, width, "
                                 "mean and std (missing: %s)" % ", ".join(missing))
            if input_size is not None:
                raise ValueError("input_size goes with transform=; without one pass height and width")
            if channels not in (1, 3):
                raise ValueError("channels must be 1 or 3")
            mean = [float(m) for m in mean]
            std = [float(s) for s in std]
            if len(mean) != channels or len(std) != channels:
                raise ValueError("mean and std need one value per channel")
            if any(not s > 0 for s in std):
                raise ValueError("every std must be greater than 0")
            if int(height) <= 0 or int(width) <= 0:
                raise ValueError("height and width must be positive")
            self.input = {"channels": int(channels), "height": int(height), "width": int(width),
                          "mean": mean, "std": std}
        self.directory = os.path.abspath(directory)
        self.classes = classes
        self.checkpoints = []
        self.check = check
        self.head = head
        os.makedirs(self.directory, exist_ok=True)

    def module_for(self, model, head=None):
        """The checked module ``save`` scripts for ``model`` (see the module docstring)."""
        return self._module_for(model, head)[0]

    def _module_for(self, model, head):
        # The module, and the batch and logits to compare its scripted form with (or None).
        c, h, w = self.input["channels"], self.input["height"], self.input["width"]
        head = head if head is not None else self.head
        if head is None and _meets_contract(model):
            check_model(model, c, h, w, len(self.classes))
            return model, None
        return _wrap(model, c, h, w, len(self.classes), head)

    def save(self, model, learning_rate, name=None, head=None):
        """Saves ``model`` as ``name`` (default ``ckpt-<n>.pt``, n counting from 1), finding
        and checking its last linear layer (``head`` names it), and adds it to the manifest
        with ``learning_rate``. Returns the path. Raises ValueError saying what is wrong."""
        learning_rate = float(learning_rate)
        if not (learning_rate > 0 and math.isfinite(learning_rate)):
            raise ValueError("learning_rate must be a positive number")
        if name is None:
            name = "ckpt-%d.pt" % (len(self.checkpoints) + 1)
        was_training = model.training
        try:
            module, reference = self._module_for(model, head) if self.check else (model, None)
            module.eval()
            if isinstance(module, torch.jit.ScriptModule):
                scripted = module
            else:
                scripted, how = _to_torchscript(module, self._batch(2, module))
                if how == "trace" and self.check:
                    # A traced graph may have kept the batch size as a constant: try another.
                    x = self._batch(3, module)
                    with torch.no_grad():
                        _compare(module(x), scripted(x), "the traced module's forward(x) on a batch of 3",
                                 "tracing fixed something that depends on the input; make forward scriptable")
            if reference is not None:
                self._check_scripted(reference, scripted)
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

    def _batch(self, n, module):
        x = torch.randn(n, self.input["channels"], self.input["height"], self.input["width"],
                        generator=torch.Generator().manual_seed(n))
        for p in module.parameters():
            return x.to(device=p.device)
        return x

    @staticmethod
    def _check_scripted(reference, scripted):
        # TorchScript compiles the module anew: compare what is saved with the model itself.
        x, z = reference
        with torch.no_grad():
            _compare(z, scripted(x), "the scripted module's forward(x)",
                     "the model behaves differently under TorchScript")
            h = scripted.embed(x)
            # A traced submodule cannot be called: apply fc's parameters directly.
            _compare(z, torch.nn.functional.linear(h, scripted.fc.weight, scripted.fc.bias),
                     "the scripted module's fc(embed(x))",
                     "the model behaves differently under TorchScript")

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


def _to_torchscript(module, example):
    """``torch.jit.script(module)``; when that fails (a forward TorchScript cannot compile,
    as GoogLeNet's or Inception's), ``torch.jit.trace_module`` of forward and embed in eval
    mode on ``example``. Returns (module, "script" | "trace")."""
    try:
        return torch.jit.script(module), "script"
    except Exception as e:  # noqa: BLE001 - TorchScript raises many types
        script_error = e
    if isinstance(module, _LastLayerModel):
        module = _TracedLastLayerModel(module.body, module.fc).eval()
    try:
        with torch.no_grad():
            traced = torch.jit.trace_module(module, {"forward": example, "embed": example}, check_trace=False)
    except Exception as e:  # noqa: BLE001
        raise ValueError("TorchScript can neither compile the model (torch.jit.script: %s) nor trace it "
                         "(torch.jit.trace: %s); TracLens runs TorchScript checkpoints"
                         % (_first_line(script_error), _first_line(e))) from e
    return traced, "trace"


def _first_line(error):
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
