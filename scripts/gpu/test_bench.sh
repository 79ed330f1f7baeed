#!/usr/bin/env bash
# test_bench.sh — runs bench.sh itself on the CPU with tiny models (the GPU
# run is too rare to debug the script there): every row must come out with
# numbers, rows with PyTorch flags already run must reuse that run, and the
# env column must reach deepres. Needs Go and Debian's python3-torch.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/deepres" ./cmd/deepres
rows='resnet-8|--model resnet-8|--model resnet-8
resnet-8 SD|--model resnet-8 --sd linear:0.5|--model resnet-8 --sd linear:0.5
resnet-8 --recompute unit|--model resnet-8 --recompute unit|--model resnet-8
resnet-8 env|--model resnet-8|--model resnet-8|GOMAXPROCS=1
resnet-8 bf16|--model resnet-8 --precision bf16|--model resnet-8 --amp bf16 --channels-last'
DEEPRES="$tmp/deepres" DEVICE=cpu BATCH=4 STEPS=1 WARMUP=0 COMPILE=0 PYTHON=${PYTHON:-/usr/bin/python3} ROWS="$rows" \
	bash scripts/gpu/bench.sh "$tmp/out" >"$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
fail() { echo "test_bench.sh: $*" >&2; cat "$tmp/out/table.md" >&2; exit 1; }
table=$tmp/out/table.md
[ "$(grep -c '^| resnet-8' "$table")" = 5 ] || fail "want 5 rows"
num='[0-9][0-9.]*'
for name in 'resnet-8' 'resnet-8 --recompute unit' 'resnet-8 SD' 'resnet-8 bf16'; do
	grep -Eq "^\| $name \| $num \| $num \| - \| - \| $num \| $num \| $num \|$" "$table" || fail "row $name incomplete"
done
cmp -s "$tmp/out/resnet-8.eager.json" "$tmp/out/resnet-8_--recompute_unit.eager.json" || fail "the PyTorch run of the first row was not reused"
[ ! -e "$tmp/out/resnet-8_env.eager.log" ] || fail "PyTorch ran again for flags already run"
grep -q '"recompute": *"unit"' "$tmp/out/resnet-8_--recompute_unit.deepres.json" || fail "--recompute did not reach deepres"
# The half-precision row: deepres in bfloat16, PyTorch under autocast bfloat16 with channels_last.
grep -q '"precision": *"bf16"' "$tmp/out/resnet-8_bf16.deepres.json" || fail "--precision bf16 did not reach deepres"
# --layout auto (bench.sh passes none) is nchw on the CPU and reported as such.
grep -q '"layout": *"nchw"' "$tmp/out/resnet-8_bf16.deepres.json" || fail "deepres bench did not report --layout auto as nchw on the CPU"
grep -q '"amp": *"bf16", *"channels_last": *true' "$tmp/out/resnet-8_bf16.eager.json" || fail "--amp bf16 --channels-last did not reach PyTorch"
# The env column reaches deepres (the CPU backend takes its thread count from GOMAXPROCS).
grep -q '"device": *"cpu (1 thread' "$tmp/out/resnet-8_env.deepres.json" || fail "the env column did not reach deepres"
# Memory like with like: deepres's tensors plus its workspace against PyTorch's
# max_memory_allocated (which counts cuDNN's workspaces); a stand-in deepres
# reports 3 MiB of tensors and a 2 MiB workspace.
cat >"$tmp/fake-deepres" <<'FAKE'
#!/bin/sh
echo '{"img_per_s": 100.0, "peak_bytes": 3145728, "workspace_bytes": 2097152, "recompute": "off"}'
FAKE
chmod +x "$tmp/fake-deepres"
DEEPRES="$tmp/fake-deepres" DEVICE=cpu BATCH=4 STEPS=1 WARMUP=0 COMPILE=0 PYTHON=${PYTHON:-/usr/bin/python3} \
	ROWS='fake|--model resnet-8|--model resnet-8' bash scripts/gpu/bench.sh "$tmp/ws" >"$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
grep -Eq "^\| fake \| 100\.0 \| $num \| - \| - \| $num \| 5 \(3 \+ 2\) \| $num \|$" "$tmp/ws/table.md" ||
	{ table=$tmp/ws/table.md; fail "deepres's peak is not tensors + workspace"; }
echo "test_bench.sh: ok"
