#!/usr/bin/env python3
"""In-process checks of pytorch_ref.py (one torch import for all of them); run by test_pytorch_ref.sh.

Each check prints "ok NAME" or "FAIL NAME: why"; the last line is "PY PASSED FAILED" for the shell
script to add up. Exit status 1 if anything failed.
"""

import math
import os
import struct
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_ref as ref  # noqa: E402

CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


def batch(n=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g)


def build(name, seed=1, **kw):
    torch.manual_seed(seed)
    return ref.Net(ref.Config(name, **kw))


def close(a, b, tol=1e-5):
    return torch.allclose(a, b, rtol=tol, atol=tol), float((a - b).abs().max())


# Every family and variant the brief lists: a forward in train and eval mode must be finite and
# the right shape, and a backward must give finite gradients.
TINY = [
    ("resnet-8", {}),
    ("resnet-8", {"shortcut": "B"}),
    ("resnet-8", {"variant": "constant:0.5,0.5"}),
    ("resnet-8", {"variant": "constant:0,1"}),
    ("resnet-8", {"variant": "exclusive-gate:-6"}),
    ("resnet-8", {"variant": "shortcut-gate:0"}),
    ("resnet-8", {"variant": "conv"}),
    ("resnet-8", {"variant": "dropout"}),
] + [("resnet-8", {"unit": u}) for u in ref.UNITS] + [
    ("resnet-11", {"block": "bottleneck", "unit": "bn-after-add"}),
    ("preact-resnet-11", {"unit": "relu-only-preact", "ror": 3}),
    ("preact-resnet-8", {}),
    ("preact-resnet-11", {}),
    ("wrn-10-2", {"dropout": 0.3}),
    ("resnet-8", {"sd": "linear:0.5"}),
    ("preact-resnet-11", {"sd": "uniform:0.5"}),
    ("resnet-8", {"ror": 1}),
    ("resnet-8", {"ror": 2}),
    ("resnet-8", {"ror": 3}),
    ("preact-resnet-11", {"ror": 3, "sd": "linear:0.5"}),
    ("wrn-10-2", {"ror": 3, "dropout": 0.3, "classes": 100}),
]


def tiny_check(name, kw):
    def run():
        net = build(name, **kw)
        x, y = batch()
        for train in (True, False):
            net.train(train)
            out = net(x)
            want = (4, kw.get("classes", 10))
            if tuple(out.shape) != want:
                return "logits shape %s, want %s" % (tuple(out.shape), want)
            if not torch.isfinite(out).all():
                return "non-finite logits (train=%s)" % train
            if train:
                torch.nn.functional.cross_entropy(out, y).backward()
                bad = [k for k, p in net.named_parameters() if p.grad is not None and not torch.isfinite(p.grad).all()]
                if bad:
                    return "non-finite gradients in %s" % bad[:3]
        return None
    run.__name__ = "finite %s %s" % (name, " ".join("%s=%s" % kv for kv in sorted(kw.items())))
    return run


for _name, _kw in TINY:
    CHECKS.append(tiny_check(_name, _kw))


@check
def param_counts():
    """docs/design.md's counts."""
    want = {"resnet-110": 1727962, "resnet-1202": 19421274, "preact-resnet-164": 1703258,
            "preact-resnet-1001": 10327706, "wrn-40-4": 8949210, "wrn-28-10": 36479194}
    for name, n in want.items():
        got = ref.count_params(build(name))
        if got != n:
            return "%s has %d parameters, want %d" % (name, got, n)
    for name, millions in (("resnet-20", 0.27), ("resnet-56", 0.85)):
        got = ref.count_params(build(name))
        if round(got / 1e6, 2) != millions:
            return "%s has %d parameters, want %.2fM" % (name, got, millions)
    return None


@check
def option_a_shortcut():
    x = torch.arange(2 * 2 * 4 * 4, dtype=torch.float32).reshape(2, 2, 4, 4)
    y = ref.shortcut_a(x, 5, 2)
    if tuple(y.shape) != (2, 5, 2, 2):
        return "shape %s" % (tuple(y.shape),)
    if y[1, 1, 1, 0].item() != x[1, 1, 2, 0].item() or y[0, 0, 0, 1].item() != x[0, 0, 0, 2].item():
        return "does not take every second pixel from (0,0)"
    if y[:, 2:].abs().sum().item() != 0:
        return "appended channels are not zero"
    a = ref.shortcut_a(x, 5, 2, "avgpool")  # Stochastic_Depth ResidualDrop.lua
    if a[0, 1, 0, 1].item() != (x[0, 1, 0, 2] + x[0, 1, 0, 3] + x[0, 1, 1, 2] + x[0, 1, 1, 3]).item() / 4:
        return "average-pool option A is not the 2x2 mean"
    if a[:, 2:].abs().sum().item() != 0:
        return "average-pool option A: appended channels are not zero"
    return None


@check
def preact_as_released():
    """resnet-pre-act.lua: a pre-activation bottleneck strides its first 1x1; preresnet.lua: the first
    unit of every stage, stage 1 included, has the shared pre-activation, option A where a basic
    unit changes shape, the identity in stage 1."""
    net = build("preact-resnet-164")
    u = net.layer2[0]
    if [c.stride[0] for c in (u.conv1, u.conv2, u.conv3)] != [2, 1, 1] or u.shortcut.conv.stride[0] != 2:
        return "preact bottleneck strides %s" % [c.stride[0] for c in (u.conv1, u.conv2, u.conv3)]
    if build("resnet-164").layer2[0].conv2.stride[0] != 2:
        return "post-activation bottleneck does not stride its 3x3"
    b = build("preact-resnet-8")
    kinds = [(s[0].he_transition, s[0].short_kind) for s in (b.layer1, b.layer2, b.layer3)]
    if kinds != [(True, "identity"), (True, "A"), (True, "A")]:
        return "preact-resnet-8 first units %s" % kinds
    if [getattr(s[0], "short_kind") for s in (build("preact-resnet-8", shortcut="B").layer2,)] != ["proj"]:
        return "--shortcut B gives no projection"
    return None


def dropout_uniform(seed, i):
    """ops.DropoutUniform written again with Python integers, independently of the numpy version."""
    m = (1 << 64) - 1
    z = (seed + (i + 1) * ref.GOLDEN) & m
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
    z ^= z >> 31
    return (z >> 40) / float(1 << 24)


@check
def splitmix_dropout_mask():
    seed, p = 0x1234567890ABCDEF, 0.3
    mask = ref.splitmix_mask(seed, (3, 5, 7), p).reshape(-1).numpy()
    scale = np.float32(1) / (np.float32(1) - np.float32(p))
    for i in range(mask.size):
        want = scale if dropout_uniform(seed, i) >= p else 0.0
        if mask[i] != np.float32(want):
            return "element %d is %r, want %r" % (i, mask[i], want)
    src = ref.SeedSource(5)
    if (src.next(), src.next()) != (5 + ref.GOLDEN, (5 + 2 * ref.GOLDEN) % (1 << 64)):
        return "mask seeds do not advance as layers.Env.nextDropoutSeed"
    kept = (mask != 0).mean()
    if not 0.5 < kept < 0.9:
        return "kept fraction %.2f far from 0.7" % kept
    return None


@check
def init_rules():
    net = build("resnet-56")
    w = net.layer3[0].conv1.weight  # (64, 32, 3, 3): fan-out and fan-in differ
    want = math.sqrt(2.0 / (9 * 64))
    if abs(w.std().item() / want - 1) > 0.03:
        return "conv std %.5f, want %.5f" % (w.std().item(), want)
    b = 1 / math.sqrt(64)
    if net.fc.weight.abs().max().item() > b or net.fc.bias.abs().max().item() > b:
        return "linear init outside U(-1/sqrt(in), 1/sqrt(in))"
    g = build("resnet-8", variant="exclusive-gate:-6")
    if not torch.all(g.layer2[0].gate.conv.bias == -6):
        return "gate bias is not b_g"
    bn = net.layer1[0].bn1
    if not (torch.all(bn.weight == 1) and torch.all(bn.bias == 0)):
        return "BN not initialised to 1, 0"
    return None


def copy_common(dst, src):
    """Copies src's tensors into dst where names match; returns the names dst has that src lacks."""
    s = src.state_dict()
    missing = []
    with torch.no_grad():
        for k, v in dst.state_dict().items():
            if k in s:
                v.copy_(s[k])
            else:
                missing.append(k)
    return missing


@check
def closed_gate_is_dropped_branch():
    """Exclusive gating with b_g = -100 (g = 0) must equal every branch dropped by stochastic depth:
    two independent code paths computing ReLU(h(x)) through the whole net."""
    gated = build("resnet-8", variant="exclusive-gate:-100")
    with torch.no_grad():
        for m in gated.modules():
            if isinstance(m, ref.Gate):
                m.conv.weight.zero_()
    dropped = build("resnet-8", sd="uniform:0.5", seed=2)
    copy_common(dropped, gated)
    dropped.sd_keep = [False] * 3
    x, _ = batch()
    gated.train(), dropped.train()
    ok, err = close(gated(x), dropped(x))
    return None if ok else "outputs differ by %g" % err


@check
def constant_one_one_is_original():
    a = build("resnet-8")
    b = build("resnet-8", variant="constant:1,1", seed=5)
    copy_common(b, a)
    x, _ = batch()
    ok, err = close(a(x), b(x))
    if not ok:
        return "constant:1,1 differs from original by %g" % err
    c = build("resnet-8", variant="constant:0.5,0.5", seed=5)
    copy_common(c, a)
    if close(a(x), c(x))[0]:
        return "constant:0.5,0.5 has no effect"
    return None


@check
def sd_test_time_scaling():
    """Pre-activation branches end in a conv, so scaling the branch by p_l equals scaling that conv's
    weight by p_l in a net without stochastic depth."""
    sd = build("preact-resnet-8", sd="linear:0.5")
    plain = build("preact-resnet-8", seed=3)
    copy_common(plain, sd)
    with torch.no_grad():
        for l, unit in enumerate([u for s in (plain.layer1, plain.layer2, plain.layer3) for u in s]):
            unit.conv2.weight.mul_(sd.survival[l])
    want = [1 - (l / 3) * 0.5 for l in (1, 2, 3)]
    if any(abs(a - b) > 1e-12 for a, b in zip(sd.survival, want)):
        return "linear survival %s, want %s" % (sd.survival, want)
    sd.eval(), plain.eval()
    x, _ = batch()
    ok, err = close(sd(x), plain(x))
    return None if ok else "eval outputs differ by %g" % err


@check
def sd_dropped_unit():
    """A dropped unit: its branch BN statistics stay, its weights get zero gradients (not None) and
    still move by weight decay; a dropped preact transition still runs its shared BN1 (the
    projection reads it) with batch statistics, but its running statistics stay, like deepres's."""
    net = build("preact-resnet-8", sd="uniform:0.5", shortcut="B")
    net.sd_keep = [True, False, False]
    net.train()
    opt = ref.make_sgd(net, 0.1, 0.9, 1e-4, True)
    u2, u3 = net.layer2[0], net.layer3[0]
    before = u2.bn2.running_mean.clone(), u2.bn1.running_mean.clone(), u2.conv2.weight.detach().clone()
    x, y = batch()
    opt.zero_grad(set_to_none=False)
    torch.nn.functional.cross_entropy(net(x), y).backward()
    if not torch.equal(u2.bn2.running_mean, before[0]):
        return "dropped unit's branch BN statistics moved"
    if not torch.equal(u2.bn1.running_mean, before[1]):
        return "dropped transition's BN1 running statistics moved"
    if u2.bn1.weight.grad is None or u2.bn1.weight.grad.abs().sum().item() == 0:
        return "dropped transition's BN1 (shared with the projection) did not run"
    if u3.conv1.weight.grad is None or u3.conv1.weight.grad.abs().sum().item() != 0:
        return "dropped unit's conv gradient is not a zero tensor"
    if u3.shortcut.conv.weight.grad.abs().sum().item() == 0:
        return "dropped unit's projection got no gradient"
    opt.step()
    if torch.equal(u2.conv2.weight, before[2]):
        return "weight decay did not move the dropped unit's weights"
    return None


@check
def sd_draws_per_batch():
    net = build("resnet-20", sd="linear:0.5")
    net.train()
    x, _ = batch(2)
    seen = set()
    for _ in range(20):
        net(x)
        seen.add(tuple(net.last_keep))
        if net.last_keep[0] is False and net.survival[0] > 0.99:
            return "unit 1 dropped with p_1 ~ 1"
    return None if len(seen) > 1 else "the same keep pattern in 20 mini-batches"


@check
def dropout_sites():
    """WRN dropout between the convs and Table 1's dropout shortcut act in training only, with the
    pinned masks: same seed, same output; no dropout, a different one."""
    for name, kw in (("wrn-10-2", {"dropout": 0.3}), ("resnet-8", {"variant": "dropout"})):
        net = build(name, **kw)
        plain_kw = {} if name.startswith("wrn") else {"variant": "none"}
        plain = build(name, seed=6, **plain_kw)
        copy_common(plain, net)
        x, _ = batch()
        outs = []
        for seed in (7, 7):
            src = ref.SeedSource(seed)
            for m in net.modules():
                if isinstance(m, ref.Dropout):
                    m.seeds = src
            outs.append(net(x))
        if not close(outs[0], outs[1])[0]:
            return "%s: the same dropout seed gave different outputs" % name
        plain.train()
        if close(outs[0], plain(x))[0]:
            return "%s: dropout changed nothing in training" % name
        copy_common(plain, net)  # the running statistics moved a different number of times
        net.eval(), plain.eval()
        ok, err = close(net(x), plain(x))
        if not ok:
            return "%s: dropout is active at test time (%g)" % (name, err)
    return None


@check
def ror_zero_shortcuts_are_plain():
    plain = build("resnet-8")
    for m in (2, 3):
        r = build("resnet-8", ror=m, seed=4)
        missing = copy_common(r, plain)
        if not all(k.startswith("ror.") for k in missing) or len(missing) != (1 if m == 2 else 4):
            return "RoR-%d adds %s" % (m, missing)
        x, _ = batch()
        if close(plain(x), r(x))[0]:
            return "RoR-%d shortcuts have no effect" % m
        if m == 3:
            with torch.no_grad():
                root = r.ror["1"][0].conv.weight
                saved = root.clone()
                root.zero_()
                if close(plain(x), r(x))[0]:
                    return "RoR-3 middle shortcuts have no effect"
                root.copy_(saved)
        with torch.no_grad():
            for k, v in r.named_parameters():
                if k.startswith("ror."):
                    v.zero_()
        ok, err = close(plain(x), r(x))
        if not ok:
            return "RoR-%d with zero shortcuts differs from plain by %g" % (m, err)
    return None


@check
def ror_joins_before_relu():
    """Post-activation: the last unit of stage 3 returns ReLU(F + h + g_root(x1)), so a huge negative
    root shortcut makes every pooled feature zero and the logits equal the fc bias."""
    net = build("resnet-8", ror=2)
    with torch.no_grad():
        net.ror["1"][0].conv.weight.zero_()
        net.conv1.weight.zero_()
        net.bn1.bias.fill_(1.0)  # x1 = ReLU(BN(0)) = 1 everywhere
        net.ror["1"][0].conv.weight.fill_(-1e4)
    net.eval()
    x, _ = batch()
    out = net(x)
    ok, err = close(out, net.fc.bias.expand_as(out))
    return None if ok else "logits differ from the fc bias by %g" % err


@check
def state_dict_names():
    names = [k for k, _, _ in ref.state_entries(build("resnet-20"))]
    for want in ("conv1.weight", "bn1.weight", "bn1.running_var", "layer1.0.conv1.weight", "layer1.0.bn1.bias",
                 "layer3.2.bn2.running_mean", "fc.weight", "fc.bias"):
        if want not in names:
            return "resnet-20 lacks %s" % want
    if names[0] != "conv1.weight" or names[-1] != "fc.bias" or any("num_batches" in k for k in names):
        return "resnet-20 order/extras wrong: %s ... %s" % (names[:2], names[-2:])
    pre = [k for k, _, _ in ref.state_entries(build("preact-resnet-164"))]
    for want in ("bn_final.weight", "layer1.0.shortcut.conv.weight", "layer3.17.conv3.weight"):
        if want not in pre:
            return "preact-resnet-164 lacks %s" % want
    if "bn1.weight" in pre or "layer2.1.shortcut.conv.weight" in pre:
        return "preact-resnet-164 has a stem BN or an identity unit's projection"
    b = dict((k, tuple(v.shape)) for k, v, _ in ref.state_entries(build("resnet-8", shortcut="B")))
    if b.get("layer2.0.shortcut.conv.weight") != (32, 16, 1, 1) or "layer2.0.shortcut.bn.weight" not in b:
        return "option B shortcut names/shapes wrong"
    g = dict((k, tuple(v.shape)) for k, v, _ in ref.state_entries(build("resnet-8", variant="shortcut-gate:0")))
    if g.get("layer2.0.gate.conv.weight") != (32, 16, 1, 1) or g.get("layer2.0.gate.conv.bias") != (32,):
        return "gate names/shapes wrong"
    r = [k for k, _, _ in ref.state_entries(build("resnet-8", ror=3))]
    if [k for k in r if k.startswith("ror.")] != ["ror.1.0.conv.weight", "ror.2.0.conv.weight",
                                                  "ror.2.1.conv.weight", "ror.2.2.conv.weight"]:
        return "RoR names wrong"
    same = [[(k, tuple(v.shape)) for k, v, _ in ref.state_entries(build(m, **kw))]
            for m, kw in (("resnet-20", {"unit": "full-preact"}), ("preact-resnet-20", {}))]
    if same[0] != same[1]:
        return "resnet-20 --unit full-preact is not preact-resnet-20"
    if ref.Config("resnet-164").block != "bottleneck" or ref.Config("resnet-1202").block != "basic":
        return "block rule: resnet-164 bottleneck, resnet-1202 basic"
    ro = [k for k, _, _ in ref.state_entries(build("resnet-8", unit="relu-only-preact"))]
    if "bn1.weight" not in ro or "bn_final.weight" in ro:
        return "relu-only-preact scaffold: stem conv-BN, no final BN"
    w = dict((k, tuple(v.shape)) for k, v, _ in ref.state_entries(build("wrn-16-4")))
    if w.get("layer1.0.shortcut.conv.weight") != (64, 16, 1, 1) or "layer1.1.shortcut.conv.weight" in w:
        return "wrn projection only where the shape changes"
    return None


@check
def safetensors_roundtrip():
    rng = np.random.default_rng(1)
    t = {"b": rng.standard_normal((3, 5)).astype(np.float32), "a": np.arange(7, dtype=np.float32)}
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "t.safetensors")
        ref.write_safetensors(p, t, {"model": "resnet-8"})
        raw = open(p, "rb").read()
        (n,) = struct.unpack("<Q", raw[:8])
        if n % 8 != 0 or len(raw) != 8 + n + 4 * (15 + 7):
            return "header length %d, file %d bytes" % (n, len(raw))
        got, meta = ref.read_safetensors(p)
    if meta != {"model": "resnet-8"} or sorted(got) != ["a", "b"]:
        return "metadata/names lost: %s %s" % (meta, sorted(got))
    for k in t:
        if not np.array_equal(got[k], t[k]):
            return "tensor %s changed" % k
    return None


@check
def checkpoint_roundtrip_and_sgd_rule():
    """forward --train-step on a saved checkpoint: the step must follow docs/design.md's SGD rule exactly."""
    net = build("wrn-10-2", dropout=0.3)
    tensors = {k: v.detach().numpy() for k, v, _ in ref.state_entries(net)}
    momentum = {k: np.full(v.shape, 0.01, np.float32) for k, v in net.named_parameters()}
    with tempfile.TemporaryDirectory() as d:
        ck, inp, out = (os.path.join(d, f) for f in ("ck.safetensors", "in.safetensors", "out.safetensors"))
        ref.write_safetensors(ck, dict(tensors, **{"optim.momentum." + k: v for k, v in momentum.items()}))
        ref.main(["make-input", "--out", inp, "--n", "3"])
        import contextlib, io
        with contextlib.redirect_stdout(io.StringIO()):
            ref.main(["forward", "--model", "wrn-10-2", "--dropout", "0.3", "--checkpoint", ck, "--input", inp,
                      "--train-step", "--lr", "0.1", "--momentum", "0.9", "--weight-decay", "1e-4",
                      "--dropout-seed", "7", "--out", out])
        got, meta = ref.read_safetensors(out)
    if meta.get("mode") != "train":
        return "metadata mode %r" % meta.get("mode")
    for k, _ in net.named_parameters():
        w0, g, v0 = tensors[k].astype(np.float64), got["grad." + k].astype(np.float64), momentum[k]
        gd = g + 1e-4 * w0
        v = 0.9 * v0 + gd
        w = w0 - 0.1 * (gd + 0.9 * v)
        if not np.allclose(got[k], w, rtol=1e-5, atol=1e-6) or not np.allclose(got["optim.momentum." + k], v,
                                                                               rtol=1e-5, atol=1e-6):
            return "%s does not follow the Nesterov SGD rule" % k
    if got["logits"].shape != (3, 10) or not np.isfinite(got["loss"]).all():
        return "logits %s loss %s" % (got["logits"].shape, got["loss"])
    return None


@check
def memory_counts_activations():
    """pytorch_ref memory: per sample, resnet-8 saves its input, the stem's conv and ReLU outputs,
    four activations per unit (conv1, ReLU1, conv2 outputs and the unit output), the pooled
    features, the log-softmax and the int64 label; weights are not counted as saved."""
    import contextlib
    import io
    import json

    def saved(n):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            ref.main(["memory", "--model", "resnet-8", "--batch-size", str(n), "--json"])
        return json.loads(out.getvalue())

    a, b = saved(2), saved(4)
    per_sample = (b["saved_mib"] - a["saved_mib"]) * 2**20 / 2
    floats = 3 * 1024 + 2 * 16 * 1024 + 4 * (16 * 1024 + 32 * 256 + 64 * 64) + 64 + 10
    want = 4 * floats + 8
    if abs(per_sample - want) > 0.5:
        return "saved %.1f bytes per sample, want %d" % (per_sample, want)
    if abs(a["state_mib"] - 3 * 4 * a["params"] / 2**20) > 1e-9 or a["lower_bound_mib"] <= a["saved_mib"]:
        return "state or bound wrong: %r" % a
    return None


@check
def bytes_counter_hand_count():
    """torch_bytes.ByteCount on a few ops counted by hand: conv reads x and w and writes y; relu reads
    and writes; zero_ only writes; a view is free; a broadcast bias (given as is, or
    expanded: stride 0) is read once per element it has;
    a cast to bfloat16 writes 2 bytes per element."""
    import torch_bytes
    x, w, b = torch.randn(2, 3, 4, 4), torch.randn(4, 3, 3, 3), torch.randn(4)
    with torch_bytes.ByteCount() as c:
        y = torch.nn.functional.conv2d(x, w, padding=1)  # 96 + 108 read, 128 written
        z = torch.relu(y)  # 128 + 128
        z.zero_()  # 128 written
        v = y.view(-1)  # free
        s = torch.add(y, b.view(1, 4, 1, 1))  # 128 + 4 read (b broadcast), 128 written
        h = s.to(torch.bfloat16)  # 128 read, 128 written at 2 bytes
        e = b.view(1, 4, 1, 1).expand(2, 4, 4, 4)  # free: stride 0 over N, H, W
        torch.mul(y, e)  # 128 + 4 distinct elements read, 128 written
        rm, rv = torch.zeros(4), torch.ones(4)  # 4 + 4 written
        torch.nn.functional.batch_norm(y, rm, rv, training=True)  # y, rm, rv read, y' written, rm, rv
        # written in place (not returned), save_mean and save_invstd written: 128 + 8 + 128 + 8 + 8
    want = 4 * (332 + 256 + 128 + 260 + 128 + 260 + 8 + 280) + 2 * 128
    got = sum(c.bytes.values())
    if got != want or c.calls.get("view") or c.bytes["zero_"] != 4 * 128 or v.numel() != 128 or h.dtype != torch.bfloat16:
        return "counted %d bytes (%r), want %d" % (got, dict(c.bytes), want)
    return None


@check
def bytes_extrapolation_is_exact():
    """pytorch_ref bytes counts at batch 1 and 2 and extrapolates: a third batch lies on the line, op by
    op, in both modes (resnet-20); autocast's convolutions move half of float32's bytes; stochastic
    depth's --sd-keep is obeyed (a dropped unit moves fewer bytes)."""
    import torch_bytes
    cfg = ref.Config("resnet-20")
    got = {}
    for mode in torch_bytes.MODES:
        c = [torch_bytes.count_step(lambda: ref.Net(cfg), lambda n: ref.make_sgd(n, 0.1, 0.9, 1e-4, True), b, mode)
             for b in (1, 2, 3)]
        line = torch_bytes.extrapolate(c[0], c[1], 3)
        if any(line[k] != c[2].get(k, 0) for k in line) or set(c[2]) - set(line):
            return "%s: batch 3 counted %r, the line says %r" % (mode, c[2], line)
        got[mode] = c[2]
    half = got["autocast-bf16-channels-last"]["convolution"] / got["eager-fp32"]["convolution"]
    if not 0.49 < half < 0.51:
        return "autocast convolution bytes / float32's = %.3f, want 0.5" % half
    sd = ref.Config("resnet-14", sd="linear:0.5")

    def with_keep(keep):
        def make():
            net = ref.Net(sd)
            net.sd_keep = keep
            return net
        return make
    sgd = lambda n: ref.make_sgd(n, 0.1, 0.9, 1e-4, True)  # noqa: E731
    kept = sum(torch_bytes.count_step(with_keep([True] * 6), sgd, 2, "eager-fp32").values())
    dropped = sum(torch_bytes.count_step(with_keep([True] * 5 + [False]), sgd, 2, "eager-fp32").values())
    if not dropped < kept:
        return "one unit dropped: %d bytes, none dropped: %d" % (dropped, kept)
    return None


def main():
    passed = failed = 0
    for fn in CHECKS:
        try:
            why = fn()
        except BaseException as e:  # SystemExit from a rejected config counts as a failure too
            why = "%s: %s" % (type(e).__name__, e)
        if why is None:
            passed += 1
            print("ok   " + fn.__name__)
        else:
            failed += 1
            print("FAIL %s: %s" % (fn.__name__, why))
    print("PY %d %d" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
