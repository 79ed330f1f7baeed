"""Bytes per training step of PyTorch, counted like deepres's ops/opbytes (issue 22, "Measure without
a GPU"): every aten op's tensor inputs read once and outputs written once, at their dtype's size; views
and other metadata-only ops free; an in-place op's tensor read and written (add_; also a mutated argument the op
does not return, as native_batch_norm's running statistics), an op that overwrites it only written (zero_, fill_, copy_'s destination, out= arguments); a broadcast (stride-0) input counts
its distinct elements only. A lower bound of DRAM traffic on a GPU, like deepres's count.

Counted with a TorchDispatchMode (torch.utils._python_dispatch; torch 1.13 has it), which sees the aten
ops below autograd: the forward, the backward autograd runs, and the optimiser's ops. Runs on the CPU; a
GPU runs the same aten ops except where a backend picks another kernel for the same tensors (cuDNN's batch
norm for native_batch_norm: the same inputs and outputs), and SGD's foreach path on CUDA, which moves the
same bytes as the per-parameter loop the CPU runs.

A step's bytes are a + b*batch exactly when each tensor is either batch-proportional or not (activations
or parameters), so count_extrapolated counts at batch 1 and 2 and extrapolates; test_pytorch_ref.py
checks a third batch against the line.
"""

import collections
import random

import torch
import torch.nn.functional as F
import torch.utils._pytree as pytree
from torch.utils._python_dispatch import TorchDispatchMode

# Ops that allocate without writing, or change metadata only: no bytes.
FREE = {"empty", "empty_like", "new_empty", "new_empty_strided", "empty_strided", "as_strided_", "resize_",
        "set_", "squeeze_", "unsqueeze_", "t_", "transpose_", "detach_", "_unsafe_view", "lift_fresh"}
# Ops that update arguments in place without saying so in their schema: torch 1.13's native_batch_norm
# (and cuDNN's and MIOpen's) declares running_mean and running_var unmutated (torch 2's
# _native_batch_norm_legit annotates them) but updates them when training.
UNANNOTATED = {"native_batch_norm": ("running_mean", "running_var"),
               "cudnn_batch_norm": ("running_mean", "running_var"),
               "miopen_batch_norm": ("running_mean", "running_var")}
# In-place ops whose mutated tensor is overwritten, not read.
OVERWRITE = {"zero_", "fill_", "copy_", "normal_", "uniform_", "bernoulli_", "random_", "exponential_"}


def distinct_bytes(t):
    """The bytes of t's distinct elements: a broadcast dimension (stride 0) is read once."""
    n = 1
    for size, stride in zip(t.shape, t.stride()):
        if stride != 0:
            n *= size
    return n * t.element_size()


class ByteCount(TorchDispatchMode):
    """Adds up, by aten op name (overload packet: "convolution", "add_"), the bytes each op reads and
    writes while active."""

    def __init__(self):
        super().__init__()
        self.bytes = collections.Counter()
        self.calls = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = func.overloadpacket.__name__
        schema = func._schema
        if not str(func).startswith("aten.") or name in FREE:
            return out
        if any(r.alias_info is not None and not r.alias_info.is_write for r in schema.returns):
            return out  # a view
        n = 0
        outs = [t for t in pytree.tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        # Inputs by schema position: a mutated argument is read unless the op overwrites it, and
        # written even where the op does not return it (native_batch_norm's running statistics).
        overwrite = name in OVERWRITE or schema.overload_name.startswith("out")
        for i, a in enumerate(schema.arguments):
            v = kwargs[a.name] if a.name in kwargs else (args[i] if i < len(args) else None)
            mutated = a.alias_info is not None and a.alias_info.is_write
            if a.name in UNANNOTATED.get(name, ()):
                mutated = bool(value_of(schema, args, kwargs, "training"))
            for t in pytree.tree_flatten(v)[0]:
                if not isinstance(t, torch.Tensor):
                    continue
                if not (mutated and overwrite):
                    n += distinct_bytes(t)
                if mutated and not any(t is o for o in outs):
                    n += distinct_bytes(t)
        for t in outs:
            n += distinct_bytes(t)
        self.bytes[name] += n
        self.calls[name] += 1
        return out


def value_of(schema, args, kwargs, name):
    """The value given to schema's argument name (its default when not given)."""
    for i, a in enumerate(schema.arguments):
        if a.name == name:
            if name in kwargs:
                return kwargs[name]
            return args[i] if i < len(args) else a.default_value
    return None


MODES = {
    # name: (autocast dtype or None, channels_last)
    "eager-fp32": (None, False),
    "autocast-bf16-channels-last": (torch.bfloat16, True),
}


def count_step(make_net, make_sgd, batch, mode, classes=10, seed=1):
    """One training step — zero_grad (as pytorch_ref bench: set_to_none=False), forward and loss under
    autocast when the mode says, backward, SGD step — after one uncounted step (SGD makes its momentum
    buffers on the first). Returns the bytes by op name."""
    amp, cl = MODES[mode]
    torch.manual_seed(seed)
    net = make_net()
    net.train()
    opt = make_sgd(net)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, 32, 32, generator=g)
    y = torch.randint(0, classes, (batch,), generator=g)
    if cl:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)

    def step():
        opt.zero_grad(set_to_none=False)
        with torch.autocast("cpu", dtype=amp or torch.bfloat16, enabled=amp is not None):
            loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()

    step()
    with ByteCount() as c:
        step()
    return dict(c.bytes)


def extrapolate(c1, c2, batch):
    """The line through counts at batch 1 and 2, at batch, op by op (exact integers)."""
    return {k: c1.get(k, 0) + (batch - 1) * (c2.get(k, 0) - c1.get(k, 0)) for k in set(c1) | set(c2)}


def draw_keep(survival, seed):
    """One stochastic-depth draw, as pytorch_ref's Net.draw_keep with random.Random(seed)."""
    r = random.Random(seed)
    return [r.random() < p for p in survival]
