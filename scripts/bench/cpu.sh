#!/usr/bin/env bash
# cpu.sh — deepres's CPU reference against PyTorch on the CPU (Debian's
# python3-torch), same model, batch and thread count. The two run
# alternately REPEAT times (the build machine is shared and its speed drifts
# by tens of percent within minutes); prints every pair and the ratio of the
# best of each.
# Env: MODEL (resnet-20), BATCH (64), STEPS (5), WARMUP (1), REPEAT (3), THREADS (nproc), PYTHON (/usr/bin/python3).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
model=${MODEL:-resnet-20} batch=${BATCH:-64} steps=${STEPS:-5} warmup=${WARMUP:-1} repeat=${REPEAT:-3}
threads=${THREADS:-$(nproc)} py=${PYTHON:-/usr/bin/python3}
go build -o /tmp/deepres-bench ./cmd/deepres
runs=()
for _ in $(seq "$repeat"); do
	d=$(GOMAXPROCS=$threads /tmp/deepres-bench bench --model "$model" --batch-size "$batch" --device cpu --steps "$steps" --warmup "$warmup" --json)
	p=$(OMP_NUM_THREADS=$threads "$py" scripts/bench/pytorch_ref.py bench --model "$model" --batch-size "$batch" --device cpu --steps "$steps" --warmup "$warmup" --json)
	runs+=("$d" "$p")
done
"$py" - "${runs[@]}" <<'PY'
import json, sys
runs = [json.loads(a) for a in sys.argv[1:]]
pairs = list(zip(runs[0::2], runs[1::2]))
for i, (d, p) in enumerate(pairs, 1):
    print(f"run {i}: deepres {d['img_per_s']:.1f} img/s, PyTorch {p['img_per_s']:.1f} img/s, ratio {d['img_per_s']/p['img_per_s']:.2f}")
bd, bp = max(d["img_per_s"] for d, _ in pairs), max(p["img_per_s"] for _, p in pairs)
d, p = pairs[0]
print(f"{d['model']} batch {d['batch']} on the CPU, best of {len(pairs)}: deepres {bd:.1f} img/s, "
      f"PyTorch {bp:.1f} img/s ({p.get('device')}, torch {p.get('torch')}), ratio {bd/bp:.2f}")
PY
