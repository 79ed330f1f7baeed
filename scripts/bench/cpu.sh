#!/usr/bin/env bash
# cpu.sh — deepres's CPU reference against PyTorch on the CPU (Debian's
# python3-torch), same model, batch and thread count; prints both and the ratio.
# Env: MODEL (resnet-20), BATCH (64), STEPS (5), WARMUP (1), THREADS (nproc), PYTHON (/usr/bin/python3).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
model=${MODEL:-resnet-20} batch=${BATCH:-64} steps=${STEPS:-5} warmup=${WARMUP:-1}
threads=${THREADS:-$(nproc)} py=${PYTHON:-/usr/bin/python3}
go build -o /tmp/deepres-bench ./cmd/deepres
d=$(GOMAXPROCS=$threads /tmp/deepres-bench bench --model "$model" --batch-size "$batch" --device cpu --steps "$steps" --warmup "$warmup" --json)
p=$(OMP_NUM_THREADS=$threads "$py" scripts/bench/pytorch_ref.py bench --model "$model" --batch-size "$batch" --device cpu --steps "$steps" --warmup "$warmup" --json)
echo "deepres: $d"
echo "pytorch: $p"
"$py" - "$d" "$p" <<'PY'
import json, sys
d, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{d['model']} batch {d['batch']} on the CPU: deepres {d['img_per_s']:.1f} img/s, "
      f"PyTorch {p['img_per_s']:.1f} img/s ({p.get('device')}, torch {p.get('torch')}), ratio {d['img_per_s']/p['img_per_s']:.2f}")
PY
