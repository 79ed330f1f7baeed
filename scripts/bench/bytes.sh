#!/usr/bin/env bash
# bytes.sh — the bytes-per-step table of bench/RESULTS.md (issue 22, "Measure without a GPU"): what one
# training step's ops read and write (each tensor once; views free; a lower bound of DRAM traffic), for
# deepres float32 NCHW (deepres bench --bytes-only: --recompute auto as on an 80 GB card, off, bn,
# unit) and PyTorch eager float32 and autocast bfloat16 + channels_last (pytorch_ref.py bytes), with the
# time that traffic takes at the H100 SXM's 3.35 TB/s: a model, not a measurement.
# Stochastic depth: one mask, deepres's first draw, given to PyTorch too (--sd-keep).
# Env: BATCH (128), PYTHON (/usr/bin/python3). No GPU; about a minute on the 2-core build machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
batch=${BATCH:-128} py=${PYTHON:-/usr/bin/python3}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/deepres" ./cmd/deepres
rows=("resnet-110" "resnet-1202" "resnet-1202 --sd linear:0.5" "preact-resnet-164" "wrn-28-10")
for row in "${rows[@]}"; do
	read -r model flags <<<"$row"
	# shellcheck disable=SC2086 # flags is a word list
	for rc in auto off bn unit; do
		"$bin/deepres" bench --model "$model" $flags --batch-size "$batch" --recompute "$rc" --bytes-only --json >"$bin/$rc.json"
	done
	keep=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["units_keep"])' "$bin/off.json")
	# shellcheck disable=SC2086
	"$py" scripts/bench/pytorch_ref.py bytes --model "$model" $flags --batch-size "$batch" --sd-keep "$keep" --json >"$bin/torch.json"
	"$py" - "$row" "$bin" <<'PY'
import json, sys
row, d = sys.argv[1], sys.argv[2]
r = {m: json.load(open("%s/%s.json" % (d, m))) for m in ("auto", "off", "bn", "unit", "torch")}
t = r["torch"]
eager = t["eager-fp32"]["bytes_per_step"]
def cell(b):
    return "%.2f GiB, %.1f ms" % (b / 2**30, b / 3.35e12 * 1e3)
sd = " (%d of %d units)" % (r["off"]["units_kept"], r["off"]["units"]) if "--sd" in row else ""
cells = ["`%s`%s" % (row, sd), "%s (auto: %s)" % (cell(r["auto"]["bytes_per_step"]), r["auto"]["recompute"])]
cells += ["%s (%.2fx)" % (cell(r[m]["bytes_per_step"]), r[m]["bytes_per_step"] / eager) for m in ("off", "bn", "unit")]
cells += [cell(eager), "%s (%.2fx)" % (cell(t["autocast-bf16-channels-last"]["bytes_per_step"]),
                                       t["autocast-bf16-channels-last"]["bytes_per_step"] / eager)]
print("| " + " | ".join(cells) + " |")
PY
done
