#!/usr/bin/env bash
# memory.sh [MODEL_FLAGS...] — training memory without a GPU: deepres's peak on
# the CPU reference (every tensor it allocates, exact) for --recompute off, bn
# and unit, next to a lower bound of PyTorch eager's (pytorch_ref.py memory:
# the tensors autograd saves, plus weights, gradients and momentum).
# Neither side counts GPU-only costs (cuDNN workspace, allocator rounding).
# Env: MODEL (resnet-1202), BATCH (128), PYTHON (/usr/bin/python3).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
model=${MODEL:-resnet-1202} batch=${BATCH:-128} py=${PYTHON:-/usr/bin/python3}
go build -o /tmp/deepres-memory ./cmd/deepres
run() { /tmp/deepres-memory bench --model "$model" "$@" --batch-size "$batch" --device cpu --steps 1 --warmup 0 --json; }
off=$(run "$@" --recompute off)
bn=$(run "$@" --recompute bn)
unit=$(run "$@" --recompute unit)
torch=$("$py" scripts/bench/pytorch_ref.py memory --model "$model" "$@" --batch-size "$batch" --json)
"$py" - "$off" "$bn" "$unit" "$torch" "$*" <<'PY'
import json, sys
runs, p = [json.loads(a) for a in sys.argv[1:4]], json.loads(sys.argv[4])
mib = lambda b: b / 2**20
lb = p["lower_bound_mib"]
s = runs[0]
print(f"{s['model']} {sys.argv[5]} batch {s['batch']}: deepres " + ", ".join(
    f"--recompute {r['recompute']} {mib(r['peak_bytes']):.0f} MiB ({mib(r['peak_bytes'])/lb:.2f}x)" for r in runs) +
      f"; PyTorch eager >= {lb:.0f} MiB ({p['saved_mib']:.0f} saved by autograd + {p['state_mib']:.0f} weights/grads/momentum; torch {p['torch']})")
PY
