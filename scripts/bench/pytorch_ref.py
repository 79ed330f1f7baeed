#!/usr/bin/env python3
"""PyTorch reference for deepres: the same networks, names and numbers, for comparisons.

Implements the models of docs/design.md ("Pinned semantics", "Checkpoints") so that a Go test can
compare deepres with PyTorch number by number, and so that benchmarks compare like with like.
Works with torch 1.13 (Debian 12's python3-torch, CPU) and torch 2.x (GPU machine).

Subcommands (see scripts/bench/README.md for the full description and output formats):
  params  MODEL [opts] [--json]        parameter count
  names   MODEL [opts] [--json]        state_dict names and shapes, in order
  bench   --model M --batch-size N ... timed training steps
  forward --model M --checkpoint F --input F [--train-step] [--out F]
  bytes   --model M --batch-size N [--sd-keep 0110...] [--json]   bytes per training step (torch_bytes.py)
"""

import argparse
import json
import math
import os
import random
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BN_EPS = 1e-5  # docs/design.md: eps 1e-5, momentum 0.1 (PyTorch's defaults, written out)
BN_MOMENTUM = 0.1
UNITS = ("original", "bn-after-add", "relu-before-add", "relu-only-preact", "full-preact")
GOLDEN = 0x9E3779B97F4A7C15  # ops/dropout.go and layers/env.go


# ---------------------------------------------------------------------------------------------
# Configuration


class Config:
    """Everything that defines a network: parsed from a model name plus options."""

    def __init__(self, name, unit=None, shortcut="A", variant="none", sd="off", ror=1, classes=10,
                 dropout=0.0, block=None, option_a="subsample"):
        self.name = name
        if option_a not in ("subsample", "avgpool"):
            raise SystemExit("pytorch_ref: --option-a must be subsample or avgpool")
        self.option_a = option_a
        self.classes = classes
        self.ror = ror
        self.dropout = dropout
        self.shortcut = shortcut
        parts = name.split("-")
        try:
            if name.startswith("resnet-") and len(parts) == 2:
                self.family, depth = "resnet", int(parts[1])
            elif name.startswith("preact-resnet-") and len(parts) == 3:
                self.family, depth = "preact", int(parts[2])
            elif name.startswith("wrn-") and len(parts) == 3:
                self.family, depth, self.k = "wrn", int(parts[1]), int(parts[2])
            else:
                raise ValueError
        except ValueError:
            raise SystemExit("pytorch_ref: unknown model %r (want resnet-D, preact-resnet-D, wrn-D-K)" % name)
        self.depth = depth

        # Block type (as models.Parse): bottleneck from 164 where D = 9n+2 (164, 1001), basic for
        # 6n+2 (110, 1202); also bottleneck where D-2 is a multiple of 9 but not of 6 (11: one unit
        # per stage, for tests; deepres rejects those names). --block overrides.
        if block is None and self.family != "wrn":
            bottleneck = (depth - 2) % 9 == 0 and (depth >= 164 or (depth - 2) % 6 != 0)
            block = "bottleneck" if bottleneck else "basic"
        block = block or "basic"
        if self.family == "wrn" and block != "basic":
            raise SystemExit("pytorch_ref: wrn has basic units only")
        self.block = block
        per_unit = 9 if block == "bottleneck" else 6
        if self.family == "wrn":
            if (depth - 4) % 6 != 0 or depth < 10:
                raise SystemExit("pytorch_ref: wrn depth must be 6n+4, got %d" % depth)
            self.n = (depth - 4) // 6
            self.widths = [16 * self.k, 32 * self.k, 64 * self.k]
        else:
            if (depth - 2) % per_unit != 0 or depth < per_unit + 2:
                raise SystemExit("pytorch_ref: %s depth must be %dn+2 for %s units, got %d"
                                 % (self.family, per_unit, block, depth))
            self.n = (depth - 2) // per_unit
            self.widths = [64, 128, 256] if block == "bottleneck" else [16, 32, 64]

        default_unit = "original" if self.family == "resnet" else "full-preact"
        self.unit = unit or default_unit
        if self.unit not in UNITS:
            raise SystemExit("pytorch_ref: unknown --unit %r" % self.unit)
        if self.family == "wrn" and self.unit != "full-preact":
            raise SystemExit("pytorch_ref: WRN units are full pre-activation; --unit is for resnet, preact-resnet")
        if shortcut not in ("A", "B"):
            raise SystemExit("pytorch_ref: --shortcut must be A or B")
        if self.family != "wrn" and dropout != 0.0:
            raise SystemExit("pytorch_ref: --dropout (between the convs) is for wrn")

        self.variant, self.ls, self.lf, self.bg = parse_variant(variant)
        if self.variant != "none" and (self.unit != "original" or self.block != "basic"):
            raise SystemExit("pytorch_ref: --shortcut-variant applies to original basic units")

        self.sd_mode, self.sd_pl = parse_sd(sd)
        if self.sd_mode != "off" and self.variant != "none":
            raise SystemExit("pytorch_ref: stochastic depth cannot be combined with a Table 1 shortcut")
        if self.sd_mode != "off" and self.unit == "bn-after-add":
            # Its BN sits after the addition, on the shortcut path too: a dropped unit could not
            # both apply it and keep its running statistics still, so docs/design.md leaves this undefined.
            raise SystemExit("pytorch_ref: stochastic depth with --unit bn-after-add is not defined")
        if ror not in (1, 2, 3):
            raise SystemExit("pytorch_ref: --ror must be 1, 2 or 3")

    def survival(self):
        """p_l for units l = 1..L (docs/design.md: every unit counts, the stem does not)."""
        total = 3 * self.n
        if self.sd_mode == "off":
            return [1.0] * total
        if self.sd_mode == "uniform":
            return [self.sd_pl] * total
        return [1.0 - (l / total) * (1.0 - self.sd_pl) for l in range(1, total + 1)]

    def as_dict(self):
        return {"model": self.name, "family": self.family, "block": self.block, "n": self.n,
                "widths": self.widths, "unit": self.unit, "shortcut": self.shortcut,
                "variant": self.variant, "lambda_s": self.ls, "lambda_f": self.lf, "b_g": self.bg,
                "sd": self.sd_mode, "p_L": self.sd_pl, "ror": self.ror, "classes": self.classes,
                "dropout": self.dropout, "option_a": self.option_a}


def parse_variant(s):
    """--shortcut-variant: none | constant:LS,LF | exclusive-gate:BG | shortcut-gate:BG | conv | dropout."""
    kind, _, arg = s.partition(":")
    try:
        if kind in ("none", "conv", "dropout") and not arg:
            return kind, 1.0, 1.0, 0.0
        if kind == "constant":
            ls, lf = (float(v) for v in arg.split(","))
            return kind, ls, lf, 0.0
        if kind in ("exclusive-gate", "shortcut-gate"):
            return kind, 1.0, 1.0, float(arg)
    except ValueError:
        pass
    raise SystemExit("pytorch_ref: bad --shortcut-variant %r" % s)


def parse_sd(s):
    """--sd: off | linear:P | uniform:P (P is p_L)."""
    if s == "off":
        return "off", 1.0
    kind, _, arg = s.partition(":")
    try:
        p = float(arg) if arg else 0.5
    except ValueError:
        p = -1.0
    if kind not in ("linear", "uniform") or not 0.0 < p <= 1.0:
        raise SystemExit("pytorch_ref: bad --sd %r (off, linear:P or uniform:P with 0 < P <= 1)" % s)
    return kind, p


# ---------------------------------------------------------------------------------------------
# Layers


def conv(cin, cout, k, stride=1, bias=False):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=bias)


def bn(c):
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=BN_MOMENTUM)


class Dropout(nn.Module):
    """Inverted dropout. With a seed source attached (forward mode) it draws the pinned
    counter-based masks of ops.DropoutKeep, so deepres and PyTorch drop the same elements."""

    def __init__(self, p):
        super().__init__()
        self.p = p
        self.seeds = None  # a SeedSource, or None for torch's own RNG

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        if self.seeds is None:
            return F.dropout(x, self.p, True)
        return x * splitmix_mask(self.seeds.next(), x.shape, self.p).to(x.device)


class SeedSource:
    """layers.Env.nextDropoutSeed: seed += golden, then use it; one seed per mask."""

    def __init__(self, seed):
        self.seed = seed

    def next(self):
        self.seed = (self.seed + GOLDEN) & 0xFFFFFFFFFFFFFFFF
        return self.seed


def splitmix_mask(seed, shape, p):
    """keep/(1-p) where ops.DropoutUniform(seed, i) >= p, over the flat (row-major) index i."""
    count = int(np.prod(shape))
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + (np.arange(count, dtype=np.uint64) + np.uint64(1)) * np.uint64(GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float32) / np.float32(1 << 24)
    scale = np.float32(1) / (np.float32(1) - np.float32(p))
    mask = np.where(u >= np.float32(p), scale, np.float32(0)).astype(np.float32)
    return torch.from_numpy(mask.reshape(tuple(shape)))


def shortcut_a(x, cout, stride, form="subsample"):
    """He et al.'s option A: every stride-th pixel (fb.resnet.torch: SpatialAveragePooling(1, 1, stride,
    stride)) or the mean of each stride x stride block (Stochastic_Depth ResidualDrop.lua:
    SpatialAveragePooling(stride, stride, stride, stride)), zero channels appended after the input's."""
    if stride > 1 and form == "avgpool":
        x = F.avg_pool2d(x, stride, stride)
    elif stride > 1:
        x = x[:, :, ::stride, ::stride]
    pad = cout - x.shape[1]
    if pad > 0:
        x = F.pad(x, (0, 0, 0, 0, 0, pad))
    return x


class Projection(nn.Module):
    """1x1 conv shortcut, with BN for option B and Table 1's conv shortcut, without for preact/WRN."""

    def __init__(self, cin, cout, stride, with_bn):
        super().__init__()
        self.conv = conv(cin, cout, 1, stride)
        if with_bn:
            self.bn = bn(cout)

    def forward(self, x):
        y = self.conv(x)
        return self.bn(y) if hasattr(self, "bn") else y


class Gate(nn.Module):
    """g = sigmoid(conv1x1(x) + b_g), element-wise (Table 1 gating); conv has a bias."""

    def __init__(self, cin, cout, stride, bg):
        super().__init__()
        self.conv = conv(cin, cout, 1, stride, bias=True)
        self.bg = bg

    def forward(self, x):
        return torch.sigmoid(self.conv(x))


# ---------------------------------------------------------------------------------------------
# Residual unit


class Unit(nn.Module):
    """One residual unit: basic (3x3, 3x3) or bottleneck (1x1, 3x3, 1x1). A full pre-activation
    bottleneck strides its first 1x1 (resnet-1k-layers resnet-pre-act.lua), every other placement its
    3x3 (fb.resnet.torch models/resnet.lua). placement is a Table 2 unit; he_transition marks a unit
    with the shared pre-activation a = ReLU(BN(x)) feeding both paths, F'(a) + h(a): in preact-resnet
    the first unit of every stage (fb.resnet.torch models/preresnet.lua 'both_preact';
    resnet-pre-act.lua), in WRN a unit whose planes change (wide-residual-networks wide-resnet.lua).
    h(a) is the identity where the shape holds, else a bare 1x1 conv for bottleneck units, WRN and
    --shortcut B, option A for basic units. forward(x, extra, keep, scale): extra joins the sum
    before the after-addition activation (RoR), keep=False computes only the shortcut (stochastic
    depth), scale multiplies the branch (p_l at test time)."""

    def __init__(self, cfg, cin, cout, stride, first=False):
        super().__init__()
        self.placement = cfg.unit
        self.variant = cfg.variant
        self.ls, self.lf = cfg.ls, cfg.lf
        self.cout, self.stride = cout, stride
        self.option_a = cfg.option_a
        changes = cin != cout or stride != 1
        if cfg.unit != "full-preact":
            self.he_transition = False
        elif cfg.family == "wrn":
            self.he_transition = cin != cout
        else:
            self.he_transition = first
        if cfg.block == "bottleneck" and cfg.unit == "full-preact":
            mid = cout // 4
            specs = [(cin, mid, 1, stride), (mid, mid, 3, 1), (mid, cout, 1, 1)]
        elif cfg.block == "bottleneck":
            mid = cout // 4
            specs = [(cin, mid, 1, 1), (mid, mid, 3, stride), (mid, cout, 1, 1)]
        else:
            specs = [(cin, cout, 3, stride), (cout, cout, 3, 1)]
        self.nconv = len(specs)
        # Register in computation order so state_dict order reads like the forward pass.
        pre = self.placement == "full-preact"
        for i, (ci, co, k, s) in enumerate(specs, 1):
            if pre:
                setattr(self, "bn%d" % i, bn(ci))
                setattr(self, "conv%d" % i, conv(ci, co, k, s))
            elif self.placement == "bn-after-add" and i == len(specs):
                setattr(self, "conv%d" % i, conv(ci, co, k, s))
                setattr(self, "bn%d" % i, bn(co))  # the BN after the addition
            else:
                setattr(self, "conv%d" % i, conv(ci, co, k, s))
                setattr(self, "bn%d" % i, bn(co))
        self.drop = Dropout(cfg.dropout) if cfg.dropout > 0 else None

        # The shortcut h.
        self.short_kind = "identity"
        if self.variant == "conv":
            self.shortcut, self.short_kind = Projection(cin, cout, stride, True), "proj"
        elif changes and self.he_transition:
            if cfg.block == "bottleneck" or cfg.family == "wrn" or cfg.shortcut == "B":
                self.shortcut, self.short_kind = Projection(cin, cout, stride, False), "proj"
            else:
                self.short_kind = "A"
        elif changes and cfg.shortcut == "B":
            self.shortcut, self.short_kind = Projection(cin, cout, stride, True), "proj"
        elif changes:
            self.short_kind = "A"
        if self.variant in ("exclusive-gate", "shortcut-gate"):
            self.gate = Gate(cin, cout, stride, cfg.bg)
        if self.variant == "dropout":
            self.short_drop = Dropout(0.5)

    def h(self, x):
        if self.short_kind == "proj":
            return self.shortcut(x)
        if self.short_kind == "A":
            return shortcut_a(x, self.cout, self.stride, self.option_a)
        return x

    def branch(self, x):
        """F(x); for a He transition x is already a = ReLU(BN1(x)) and F is F'."""
        p = self.placement
        for i in range(1, self.nconv + 1):
            c, b = getattr(self, "conv%d" % i), getattr(self, "bn%d" % i)
            last = i == self.nconv
            if p == "full-preact":
                if not (self.he_transition and i == 1):
                    x = F.relu(b(x))
                if self.drop is not None and last:
                    x = self.drop(x)  # WRN: between the convs, after the activation
                x = c(x)
            elif p == "relu-only-preact":
                x = b(c(F.relu(x)))
            elif p == "relu-before-add":
                x = F.relu(b(c(x)))
            elif p == "bn-after-add" and last:
                x = c(x)
            else:  # original, and bn-after-add's inner convs
                x = b(c(x))
                if not last:
                    x = F.relu(x)
        return x

    def post(self, y):
        """The after-addition activation f."""
        if self.placement == "original":
            return F.relu(y)
        if self.placement == "bn-after-add":
            return F.relu(getattr(self, "bn%d" % self.nconv)(y))
        return y

    def forward(self, x, extra=None, keep=True, scale=1.0):
        if self.he_transition:
            # Shared by branch and projection, so it runs even when the unit is dropped; then,
            # as deepres does (docs/design.md: a dropped unit's BN running statistics do not move),
            # it normalises with the batch statistics without updating the running ones.
            if keep or not self.training:
                x = F.relu(self.bn1(x))
            else:
                x = F.relu(F.batch_norm(x, None, None, self.bn1.weight, self.bn1.bias, True, 0.0, self.bn1.eps))
        hx = self.h(x)
        g = self.gate(x) if hasattr(self, "gate") else None
        v = self.variant
        if v == "constant":
            s = self.ls * hx
        elif v in ("exclusive-gate", "shortcut-gate"):
            s = (1 - g) * hx
        elif v == "dropout":
            s = self.short_drop(hx)
        else:
            s = hx
        y = s
        if keep:
            f = self.branch(x)
            if v == "constant":
                f = self.lf * f
            elif v == "exclusive-gate":
                f = g * f
            y = y + (f if scale == 1.0 else scale * f)
        if extra is not None:
            y = y + extra
        return self.post(y)


# ---------------------------------------------------------------------------------------------
# Network


class RoRShortcut(nn.Module):
    """An RoR level shortcut g: a 1x1 conv without BN (Zhang et al., Fig. 2 and 3)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = conv(cin, cout, 1, stride)

    def forward(self, x):
        return self.conv(x)


class Net(nn.Module):
    """A CIFAR residual network: stem, three stages, (BN-ReLU,) global average pool, linear.
    Input (N,3,32,32), output logits (N, classes)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        # The scaffold follows the unit (as models/build.go): conv-BN-ReLU stem for post-activation
        # units, conv-BN for ReLU-only pre-activation (its units start with a ReLU), a bare conv for
        # full pre-activation (the first unit starts with BN-ReLU).
        self.conv1 = conv(3, 16, 3)
        if cfg.unit != "full-preact":
            self.bn1 = bn(16)
        cin = 16
        strides = [1, 2, 2]
        for s in range(3):
            units = nn.ModuleList()
            for i in range(cfg.n):
                units.append(Unit(cfg, cin, cfg.widths[s], strides[s] if i == 0 else 1, first=i == 0))
                cin = cfg.widths[s]
            setattr(self, "layer%d" % (s + 1), units)
        if cfg.ror >= 2:
            self.ror = nn.ModuleDict()
            self.ror["1"] = nn.ModuleList([RoRShortcut(16, cfg.widths[2], 4)])
            if cfg.ror == 3:
                ins = [16, cfg.widths[0], cfg.widths[1]]
                self.ror["2"] = nn.ModuleList(
                    [RoRShortcut(ins[s], cfg.widths[s], strides[s]) for s in range(3)])
        if cfg.unit == "full-preact":
            self.bn_final = bn(cin)
        self.fc = nn.Linear(cin, cfg.classes)
        self.survival = cfg.survival()
        self.sd_rng = random.Random(1)
        self.sd_keep = None  # a fixed keep list (forward mode); None draws per mini-batch
        self.last_keep = None
        init_weights(self, cfg)

    def draw_keep(self):
        """One Bernoulli draw per unit per mini-batch, on the host."""
        if self.sd_keep is not None:
            return list(self.sd_keep)
        return [self.sd_rng.random() < p for p in self.survival]

    def forward(self, x):
        cfg = self.cfg
        x = self.conv1(x)
        if cfg.unit == "relu-only-preact":
            x = self.bn1(x)
        elif cfg.unit != "full-preact":
            x = F.relu(self.bn1(x))
        x1 = x
        sd = cfg.sd_mode != "off"
        keep = self.draw_keep() if sd and self.training else [True] * len(self.survival)
        self.last_keep = keep
        l = 0
        for s in range(3):
            stage_in = x
            units = getattr(self, "layer%d" % (s + 1))
            for i, unit in enumerate(units):
                extra = None
                if i == len(units) - 1:
                    extra = self.ror_terms(s, x1, stage_in)
                scale = self.survival[l] if sd and not self.training else 1.0
                x = unit(x, extra, keep[l], scale)
                l += 1
        if cfg.unit == "full-preact":
            x = F.relu(self.bn_final(x))
        elif cfg.unit == "relu-only-preact":
            x = F.relu(x)  # the extra activation after the last addition (He et al. 2016, Sec. 4.1)
        x = x.mean(dim=(2, 3))
        return self.fc(x)

    def ror_terms(self, s, x1, stage_in):
        if self.cfg.ror == 1:
            return None
        terms = []
        if self.cfg.ror == 3:
            terms.append(self.ror["2"][s](stage_in))
        if s == 2:
            terms.append(self.ror["1"][0](x1))
        return sum(terms[1:], terms[0]) if terms else None


def init_weights(net, cfg):
    """docs/design.md init: conv N(0, sqrt(2/(kh*kw*out))); BN 1, 0; linear U(+-1/sqrt(in)); gate bias b_g."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / k))
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            bound = 1.0 / math.sqrt(m.in_features)
            nn.init.uniform_(m.weight, -bound, bound)
            nn.init.uniform_(m.bias, -bound, bound)
    for m in net.modules():
        if isinstance(m, Gate):
            nn.init.constant_(m.conv.bias, m.bg)


def state_entries(net):
    """(name, tensor, is_param) in state_dict order, without BN's num_batches_tracked (deepres
    has no such counter: momentum is fixed at 0.1)."""
    params = dict(net.named_parameters())
    return [(k, v, k in params)
            for k, v in net.state_dict(keep_vars=True).items() if not k.endswith("num_batches_tracked")]


def count_params(net):
    return sum(p.numel() for p in net.parameters())


# ---------------------------------------------------------------------------------------------
# safetensors, in plain Python (the format: 8-byte little-endian header length, JSON header,
# raw little-endian data; https://github.com/huggingface/safetensors)

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8}


def read_safetensors(path):
    """Returns ({name: numpy array}, metadata dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise SystemExit("pytorch_ref: %s: too short for safetensors" % path)
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise SystemExit("pytorch_ref: %s: header length %d beyond the file's %d bytes" % (path, n, len(raw)))
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        dt = DTYPES.get(info["dtype"])
        if dt is None:
            raise SystemExit("pytorch_ref: %s: tensor %s has unsupported dtype %s" % (path, name, info["dtype"]))
        b, e = info["data_offsets"]
        if e > len(data) or e - b != int(np.prod(info["shape"], dtype=np.int64)) * np.dtype(dt).itemsize:
            raise SystemExit("pytorch_ref: %s: tensor %s has bad data offsets" % (path, name))
        out[name] = np.frombuffer(data[b:e], dtype=np.dtype(dt).newbyteorder("<")).reshape(info["shape"]).copy()
    return out, meta


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: array} as F32 (float arrays) in sorted name order; metadata values are strings."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(np.asarray(tensors[name], dtype=np.float32)).astype("<f4")
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)  # align the data to 8 bytes, as the reference writer does
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# Subcommands


def add_model_options(p):
    p.add_argument("--unit", choices=UNITS, help="Table 2 unit placement (resnet-D only)")
    p.add_argument("--shortcut", default="A", help="A (zero-padding) or B (1x1 conv + BN) at shape changes")
    p.add_argument("--shortcut-variant", default="none",
                   help="Table 1: none | constant:LS,LF | exclusive-gate:BG | shortcut-gate:BG | conv | dropout")
    p.add_argument("--block", choices=("basic", "bottleneck"), help="override the family's block type")
    p.add_argument("--sd", default="off", help="stochastic depth: off | linear:P | uniform:P")
    p.add_argument("--ror", type=int, default=1, help="RoR levels m: 1 (plain), 2, 3")
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--dropout", type=float, default=0.0, help="WRN dropout between the convs")
    p.add_argument("--option-a", default="subsample", help="option A's reduction: subsample | avgpool")


def config_from(args, name):
    return Config(name, unit=args.unit, shortcut=args.shortcut, variant=args.shortcut_variant,
                  sd=args.sd, ror=args.ror, classes=args.classes, dropout=args.dropout, block=args.block,
                  option_a=args.option_a)


def cmd_params(args):
    for name in args.model:
        cfg = config_from(args, name)
        n = count_params(Net(cfg))
        if args.json:
            print(json.dumps({"name": cfg.name, "params": n, "config": cfg.as_dict()}))
        elif len(args.model) > 1:
            print(cfg.name, n)
        else:
            print(n)


def cmd_names(args):
    cfg = config_from(args, args.model)
    entries = [{"name": k, "shape": list(v.shape), "param": bool(isp)} for k, v, isp in state_entries(Net(cfg))]
    if args.json:
        print(json.dumps({"name": cfg.name, "config": cfg.as_dict(), "tensors": entries}))
    else:
        for e in entries:
            print("%-45s %-20s %s" % (e["name"], tuple(e["shape"]), "param" if e["param"] else "buffer"))


def set_math(math_mode):
    tf32 = math_mode == "tf32"
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32


def make_sgd(net, lr, momentum, wd, nesterov):
    """PyTorch's SGD is docs/design.md's rule; grads start as zeros (not None) so that a unit dropped by
    stochastic depth still gets weight decay and momentum, as in the original Torch code."""
    for p in net.parameters():
        p.grad = torch.zeros_like(p)
    return torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum, weight_decay=wd, nesterov=nesterov)


def percentile(xs, q):
    xs = sorted(xs)
    pos = (len(xs) - 1) * q
    lo, hi = int(math.floor(pos)), int(math.ceil(pos))
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def cmd_bench(args):
    cfg = config_from(args, args.model)
    dev = torch.device(args.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("pytorch_ref: --device cuda but torch.cuda.is_available() is false")
    set_math(args.math)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = args.cudnn_benchmark
    torch.manual_seed(args.seed)
    net = Net(cfg).to(dev)
    net.sd_rng = random.Random(args.seed)
    net.train()
    # Mixed precision as PyTorch users run it (the rows deepres --precision bf16/fp16 is timed
    # against): torch.autocast around the forward pass and the loss, float32 weights, and for float16
    # a GradScaler (torch.amp docs, "Automatic Mixed Precision examples"); channels_last memory
    # format for the weights and the input.
    amp = {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}[args.amp]
    if amp is torch.float16 and dev.type != "cuda":
        raise SystemExit("pytorch_ref: --amp fp16 needs --device cuda (CPU autocast is bfloat16)")
    if args.channels_last:
        net = net.to(memory_format=torch.channels_last)
    opt = make_sgd(net, args.lr, 0.9, 1e-4, True)
    loss_fn = nn.CrossEntropyLoss()
    scaler = None
    if amp is torch.float16:
        scaler = torch.amp.GradScaler("cuda") if hasattr(torch.amp, "GradScaler") else torch.cuda.amp.GradScaler()

    compiled, compile_note = False, ""
    model = net
    if args.compile:
        if hasattr(torch, "compile"):
            # "reduce-overhead" captures CUDA graphs (torch.compile's docs):
            # the like of deepres --cuda-graphs.
            model = torch.compile(net, mode=args.compile_mode) if args.compile_mode != "default" else torch.compile(net)
            compiled = True
            if cfg.sd_mode != "off":
                compile_note = "stochastic depth's per-batch python branches cause graph breaks/recompiles"
        else:
            compile_note = "torch.compile not available in torch %s: ran eager" % torch.__version__
            print("pytorch_ref: " + compile_note, file=sys.stderr)

    # A synthetic batch on the host, uploaded every step as deepres uploads each batch.
    gen = torch.Generator().manual_seed(args.seed)
    x_host = torch.randn(args.batch_size, 3, 32, 32, generator=gen)
    y_host = torch.randint(0, cfg.classes, (args.batch_size,), generator=gen)
    if args.channels_last:
        x_host = x_host.contiguous(memory_format=torch.channels_last)
    if dev.type == "cuda":
        x_host, y_host = x_host.pin_memory(), y_host.pin_memory()
        torch.cuda.reset_peak_memory_stats(dev)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    def step():
        x = x_host.to(dev, non_blocking=True)
        y = y_host.to(dev, non_blocking=True)
        opt.zero_grad(set_to_none=False)
        with torch.autocast(dev.type, dtype=amp or torch.bfloat16, enabled=amp is not None):
            loss = loss_fn(model(x), y)
        if scaler is None:
            loss.backward()
            opt.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        return loss

    for _ in range(args.warmup):
        step()
    sync()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        loss = step()
        sync()
        times.append(time.perf_counter() - t0)
    if not math.isfinite(float(loss)):
        raise SystemExit("pytorch_ref: loss is not finite: %r" % float(loss))

    ms = [t * 1e3 for t in times]
    med = percentile(ms, 0.5)
    if dev.type == "cuda":
        mem = torch.cuda.max_memory_allocated(dev) / 2**20
        mem_label = "torch.cuda.max_memory_allocated"
        device_name = torch.cuda.get_device_name(dev)
    else:
        mem = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
        mem_label = "process peak RSS (ru_maxrss)"
        device_name = "cpu (%d threads)" % torch.get_num_threads()
    r = {"model": cfg.name, "config": cfg.as_dict(), "params": count_params(net), "batch_size": args.batch_size,
         "device": device_name, "torch": torch.__version__, "math": args.math, "amp": args.amp,
         "channels_last": args.channels_last, "compiled": compiled,
         "compile_mode": args.compile_mode if compiled else None,
         "compile_note": compile_note, "steps": args.steps, "warmup": args.warmup,
         "img_per_s": args.batch_size / (med / 1e3), "ms_per_step_median": med,
         "ms_per_step_p10": percentile(ms, 0.1), "ms_per_step_p90": percentile(ms, 0.9),
         "peak_mem_mib": mem, "peak_mem_kind": mem_label, "final_loss": float(loss)}
    if args.json:
        print(json.dumps(r))
    else:
        print("%s batch %d on %s (torch %s, %s%s): %.1f img/s, %.2f ms/step median (p10 %.2f, p90 %.2f), "
              "peak %.1f MiB [%s]" % (cfg.name, args.batch_size, device_name, torch.__version__, args.math,
                                      ", compiled" if compiled else "", r["img_per_s"], med,
                                      r["ms_per_step_p10"], r["ms_per_step_p90"], mem, mem_label))
        if compile_note:
            print("note: " + compile_note)


def cmd_memory(args):
    """What PyTorch eager must hold at the end of a training forward pass, counted exactly on any device:
    every tensor autograd saved for the backward pass (unique storages, weights excluded), plus weights,
    their gradients and SGD's momentum. torch.cuda.max_memory_allocated can only be larger (gradients
    of activations, workspaces, allocator rounding), so this is a lower bound of PyTorch's peak that
    needs no GPU. It runs on the CPU; the same tensors are saved on a GPU."""
    cfg = config_from(args, args.model)
    torch.manual_seed(args.seed)
    net = Net(cfg)
    net.sd_rng = random.Random(args.seed)
    net.train()
    gen = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.batch_size, 3, 32, 32, generator=gen)
    y = torch.randint(0, cfg.classes, (args.batch_size,), generator=gen)

    def storage(t):
        s = t.untyped_storage() if hasattr(t, "untyped_storage") else t.storage()
        return s.data_ptr(), s.nbytes()

    weights = {storage(p)[0] for p in net.parameters()}
    saved = {}

    def pack(t):
        ptr, n = storage(t)
        if ptr not in weights:
            saved[ptr] = n
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = F.cross_entropy(net(x), y)
    if not math.isfinite(float(loss)):
        raise SystemExit("pytorch_ref: loss is not finite: %r" % float(loss))
    n = count_params(net)
    mib = 2.0**20
    r = {"model": cfg.name, "config": cfg.as_dict(), "params": n, "batch_size": args.batch_size,
         "torch": torch.__version__, "saved_tensors": len(saved), "saved_mib": sum(saved.values()) / mib,
         "state_mib": 3 * 4 * n / mib}
    r["lower_bound_mib"] = r["saved_mib"] + r["state_mib"]
    if args.json:
        print(json.dumps(r))
    else:
        print("%s batch %d (torch %s): %d saved tensors, %.1f MiB; weights+gradients+momentum %.1f MiB; "
              "peak >= %.1f MiB" % (cfg.name, args.batch_size, torch.__version__, len(saved), r["saved_mib"],
                                    r["state_mib"], r["lower_bound_mib"]))


def cmd_bytes(args):
    """Bytes one training step's aten ops read and write (torch_bytes.py), PyTorch eager float32 and
    autocast bfloat16 + channels_last, counted at batch 1 and 2 and extrapolated to --batch-size."""
    import torch_bytes
    cfg = config_from(args, args.model)
    keep = None
    if cfg.sd_mode != "off":
        survival = cfg.survival()
        if args.sd_keep:
            keep = [c == "1" for c in args.sd_keep]
            if len(keep) != len(survival) or set(args.sd_keep) - set("01"):
                raise SystemExit("pytorch_ref: --sd-keep wants %d characters 0 or 1" % len(survival))
        else:
            keep = torch_bytes.draw_keep(survival, args.seed)

    def make_net():
        net = Net(cfg)
        net.sd_keep = keep
        return net

    def sgd(net):
        return make_sgd(net, 0.1, 0.9, 1e-4, True)

    r = {"model": cfg.name, "config": cfg.as_dict(), "batch_size": args.batch_size, "torch": torch.__version__,
         "units_kept": sum(keep) if keep else None, "counted_at_batches": [1, 2]}
    for mode in torch_bytes.MODES:
        c1 = torch_bytes.count_step(make_net, sgd, 1, mode, cfg.classes, args.seed)
        c2 = torch_bytes.count_step(make_net, sgd, 2, mode, cfg.classes, args.seed)
        by = torch_bytes.extrapolate(c1, c2, args.batch_size)
        r[mode] = {"bytes_per_step": sum(by.values()), "bytes_by_op": by}
    if args.json:
        print(json.dumps(r))
    else:
        print("%s batch %d (torch %s): %s" % (cfg.name, args.batch_size, torch.__version__, ", ".join(
            "%s %.2f GiB/step" % (m, r[m]["bytes_per_step"] / 2**30) for m in torch_bytes.MODES)))


def load_checkpoint(net, path):
    """Loads every state_dict tensor from a deepres/PyTorch safetensors checkpoint; returns the
    momentum buffers found (optim.momentum.<name>) and the metadata."""
    tensors, meta = read_safetensors(path)
    momentum = {}
    sd = {}
    for k, v in tensors.items():
        if k.startswith("optim.momentum."):
            momentum[k[len("optim.momentum."):]] = torch.from_numpy(v.astype(np.float32))
        else:
            sd[k] = torch.from_numpy(v.astype(np.float32))
    want = dict((k, v) for k, v, _ in state_entries(net))
    missing = [k for k in want if k not in sd]
    unknown = [k for k in sd if k not in want]
    if missing or unknown:
        raise SystemExit("pytorch_ref: %s does not fit %s: missing %s, unknown %s"
                         % (path, net.cfg.name, missing[:8], unknown[:8]))
    for k, v in want.items():
        if tuple(sd[k].shape) != tuple(v.shape):
            raise SystemExit("pytorch_ref: %s: %s has shape %s, model wants %s"
                             % (path, k, tuple(sd[k].shape), tuple(v.shape)))
        with torch.no_grad():
            v.copy_(sd[k])
    return momentum, meta


def cmd_forward(args):
    cfg = config_from(args, args.model)
    torch.manual_seed(args.seed)
    set_math("fp32")
    net = Net(cfg)
    if args.checkpoint:
        momentum, _ = load_checkpoint(net, args.checkpoint)
    else:
        momentum = {}  # freshly initialised (self-test); seeded by --seed
    inp, _ = read_safetensors(args.input)
    if "x" not in inp or "labels" not in inp:
        raise SystemExit("pytorch_ref: %s must hold tensors x (N,3,32,32) and labels (N)" % args.input)
    x = torch.from_numpy(inp["x"].astype(np.float32))
    labels = torch.from_numpy(inp["labels"].astype(np.int64).reshape(-1))
    if args.float64:
        # The same float32 weights and input, computed in float64: how far a float32 result may
        # lie from the exact one (deep nets at initialisation amplify rounding; internal/torchcheck).
        net.double()
        x = x.double()
        momentum = {k: v.double() for k, v in momentum.items()}
    train = args.train_step or args.mode == "train"
    if "sd_keep" in inp:
        keep = inp["sd_keep"].reshape(-1)
        if len(keep) != len(net.survival):
            raise SystemExit("pytorch_ref: sd_keep has %d entries, the model has %d units"
                             % (len(keep), len(net.survival)))
        net.sd_keep = [bool(k != 0) for k in keep]
    else:
        net.sd_rng = random.Random(args.seed)
    seeds = SeedSource(args.dropout_seed)
    for m in net.modules():
        if isinstance(m, Dropout):
            m.seeds = seeds
    net.train(train)

    opt = make_sgd(net, args.lr, args.momentum, args.weight_decay, args.nesterov) if args.train_step else None
    if opt is not None:
        params = dict(net.named_parameters())
        for name, buf in momentum.items():
            if name in params:
                opt.state[params[name]]["momentum_buffer"] = buf.clone()
    if train:
        logits = net(x)
    else:
        with torch.no_grad():
            logits = net(x)
    losses = F.cross_entropy(logits, labels, reduction="none")
    loss = losses.mean()
    correct = (logits.argmax(dim=1) == labels).float()
    out = {"logits": logits.detach().numpy(), "losses": losses.detach().numpy(),
           "loss": np.array([loss.item()], dtype=np.float32), "correct": correct.numpy()}
    if net.last_keep is not None and cfg.sd_mode != "off":
        out["sd_keep"] = np.array(net.last_keep, dtype=np.float32)
    if opt is not None:
        opt.zero_grad(set_to_none=False)
        loss.backward()
        for k, p in net.named_parameters():
            out["grad." + k] = p.grad.detach().numpy().copy()
        opt.step()
        for k, p in net.named_parameters():
            out["optim.momentum." + k] = opt.state[p]["momentum_buffer"].numpy().copy()
    if train or args.train_step:
        for k, v, _ in state_entries(net):  # weights after the step, running stats after the forward
            out[k] = v.detach().numpy().copy()

    meta = {"config": json.dumps(cfg.as_dict()), "mode": "train" if train else "eval",
            "train_step": str(bool(args.train_step)), "torch": torch.__version__}
    if args.float64:
        out = {k: np.asarray(v, dtype=np.float32) for k, v in out.items()}
        meta["float64"] = "true"
    if args.out:
        write_safetensors(args.out, out, meta)
    summary = {"model": cfg.name, "mode": meta["mode"], "loss": float(loss),
               "logits": out["logits"].tolist(), "losses": out["losses"].tolist(), "correct": out["correct"].tolist()}
    if "sd_keep" in out:
        summary["sd_keep"] = out["sd_keep"].tolist()
    if args.train_step and not args.out:
        summary["tensors"] = {k: v.reshape(-1).tolist() for k, v in out.items()
                              if k not in ("logits", "losses", "loss", "correct", "sd_keep")}
    print(json.dumps(summary))


def cmd_make_input(args):
    """Writes a random input file (x, labels) for forward: a helper for tests and examples."""
    rng = np.random.default_rng(args.seed)
    x = rng.standard_normal((args.n, 3, 32, 32)).astype(np.float32)
    labels = rng.integers(0, args.classes, args.n).astype(np.float32)
    write_safetensors(args.out, {"x": x, "labels": labels}, {"seed": args.seed})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd")
    sub.required = True

    p = sub.add_parser("params", help="print the parameter count (one line per model)")
    p.add_argument("model", nargs="+")
    add_model_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_params)

    p = sub.add_parser("names", help="list state_dict names and shapes in order")
    p.add_argument("model")
    add_model_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_names)

    p = sub.add_parser("bench", help="time full training steps")
    p.add_argument("--model", required=True)
    add_model_options(p)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--math", choices=("tf32", "fp32"), default="tf32")
    p.add_argument("--amp", default="off", choices=("off", "bf16", "fp16"),
                   help="torch.autocast to this type around forward and loss (fp16 adds a GradScaler; cuda only)")
    p.add_argument("--channels-last", action="store_true", help="weights and input in torch.channels_last")
    p.add_argument("--compile", action="store_true", help="torch.compile (torch >= 2)")
    p.add_argument("--compile-mode", default="default", choices=["default", "reduce-overhead", "max-autotune"],
                   help="torch.compile's mode; reduce-overhead launches CUDA graphs")
    p.add_argument("--no-cudnn-benchmark", dest="cudnn_benchmark", action="store_false",
                   help="turn off cudnn.benchmark (on by default: deepres also searches algorithms once per shape)")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("memory", help="a lower bound of PyTorch eager's training memory, counted on the CPU")
    p.add_argument("--model", required=True)
    add_model_options(p)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_memory)

    p = sub.add_parser("bytes", help="bytes one training step's ops read and write, counted on the CPU")
    p.add_argument("--model", required=True)
    add_model_options(p)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--sd-keep", help="stochastic depth's kept units, one 0 or 1 per unit (deepres bench "
                   "--bytes-only --json's units_keep); omitted: one draw from --seed")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bytes)

    p = sub.add_parser("forward", help="forward (and one SGD step) on given weights and input")
    p.add_argument("--model", required=True)
    add_model_options(p)
    p.add_argument("--checkpoint", help="safetensors weights; omitted: fresh init from --seed")
    p.add_argument("--input", required=True, help="safetensors with x (N,3,32,32), labels (N), optional sd_keep (L)")
    p.add_argument("--mode", choices=("eval", "train"), default="eval")
    p.add_argument("--train-step", action="store_true", help="train-mode forward, backward and one SGD step")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--nesterov", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--dropout-seed", type=lambda s: int(s, 0), default=0,
                   help="layers.Env.DropoutSeed before the first mask")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", help="write every output tensor to this safetensors file")
    p.add_argument("--float64", action="store_true",
                   help="compute in float64 from the same float32 weights and input (outputs written as float32)")
    p.set_defaults(func=cmd_forward)

    p = sub.add_parser("make-input", help="write a random input file for forward")
    p.add_argument("--out", required=True)
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=cmd_make_input)

    args = ap.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
