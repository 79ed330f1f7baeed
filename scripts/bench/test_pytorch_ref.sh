#!/usr/bin/env bash
# Self-test of scripts/bench/pytorch_ref.py on the CPU (about 30 s): parameter counts, the CLI's
# params/names/bench/forward modes, and the in-process checks of test_pytorch_ref.py.
# Exits non-zero on any failure; the last line is "N passed, M failed".
# PYTHON picks the interpreter; by default /usr/bin/python3 (Debian's python3-torch) when it has
# torch, else python3 from PATH.
set -u
cd "$(dirname "$0")"
if [ -z "${PYTHON:-}" ]; then
	PYTHON=python3
	if /usr/bin/python3 -c 'import torch' 2>/dev/null; then PYTHON=/usr/bin/python3; fi
fi
if ! "$PYTHON" -c 'import torch, numpy' 2>/dev/null; then
	echo "test_pytorch_ref: $PYTHON has no torch/numpy (apt-get install -y python3-torch python3-numpy)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
REF=./pytorch_ref.py
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }

# docs/design.md's parameter counts (CIFAR-10 head): exact where the brief gives them, in millions otherwise.
want="resnet-20 0.27M
resnet-56 0.85M
resnet-110 1727962
resnet-1202 19421274
preact-resnet-164 1703258
preact-resnet-1001 10327706
wrn-40-4 8949210
wrn-28-10 36479194"
got=$("$PYTHON" "$REF" params $(echo "$want" | cut -d' ' -f1) 2>&1)
while read -r model count; do
	n=$(echo "$got" | awk -v m="$model" '$1 == m { print $2 }')
	case $count in
	*M) have=$(awk -v n="${n:-0}" 'BEGIN { printf "%.2fM", n / 1e6 }') ;;
	*) have=$n ;;
	esac
	if [ "$have" = "$count" ]; then ok "params $model = $n"; else fail "params $model: got '${n:-$got}', want $count"; fi
done <<<"$want"

# bench: resnet-20, batch 8, 2 steps on the CPU.
if out=$("$PYTHON" "$REF" bench --model resnet-20 --batch-size 8 --device cpu --steps 2 --warmup 1 --math fp32 --json 2>&1) &&
	echo "$out" | "$PYTHON" -c 'import json, math, sys; r = json.loads(sys.stdin.read().strip().splitlines()[-1]); assert r["img_per_s"] > 0 and math.isfinite(r["final_loss"]) and r["peak_mem_kind"].startswith("process"), r'; then
	ok "bench resnet-20 cpu: $(echo "$out" | "$PYTHON" -c 'import json, sys; r = json.loads(sys.stdin.read().strip().splitlines()[-1]); print("%.1f img/s, %.1f ms/step" % (r["img_per_s"], r["ms_per_step_median"]))')"
else
	fail "bench resnet-20 cpu: $out"
fi

# names: state_dict names follow docs/design.md "Checkpoints".
names_have() { # model, options..., then "--" and the names that must appear
	local args=() n
	while [ "$1" != "--" ]; do args+=("$1"); shift; done
	shift
	local list
	list=$("$PYTHON" "$REF" names "${args[@]}" --json 2>&1 | "$PYTHON" -c 'import json, sys; [print(t["name"]) for t in json.load(sys.stdin)["tensors"]]') || { fail "names ${args[*]}: $list"; return; }
	for n in "$@"; do
		if ! grep -qx "$n" <<<"$list"; then fail "names ${args[*]}: no $n"; return; fi
	done
	ok "names ${args[*]}"
}
names_have resnet-20 -- conv1.weight bn1.weight bn1.bias bn1.running_mean bn1.running_var layer1.0.conv1.weight \
	layer1.0.bn1.weight layer1.0.conv2.weight layer1.0.bn2.running_var layer3.2.bn2.bias fc.weight fc.bias
names_have preact-resnet-164 -- conv1.weight layer1.0.bn1.weight layer1.0.conv3.weight layer1.0.shortcut.conv.weight \
	layer3.17.bn3.weight bn_final.weight bn_final.running_var fc.bias
names_have resnet-8 --ror 3 -- ror.1.0.conv.weight ror.2.0.conv.weight ror.2.1.conv.weight ror.2.2.conv.weight
names_have resnet-8 --shortcut B --shortcut-variant exclusive-gate:-6 -- layer2.0.shortcut.conv.weight \
	layer2.0.shortcut.bn.running_mean layer1.0.gate.conv.weight layer1.0.gate.conv.bias
names_have wrn-16-4 -- layer1.0.shortcut.conv.weight layer2.0.shortcut.conv.weight bn_final.weight

# forward: fresh tiny model, train step, output file.
if "$PYTHON" "$REF" make-input --out "$TMP/in.safetensors" --n 4 &&
	out=$("$PYTHON" "$REF" forward --model preact-resnet-11 --ror 3 --sd linear:0.5 --input "$TMP/in.safetensors" \
		--train-step --out "$TMP/out.safetensors" 2>&1) &&
	echo "$out" | "$PYTHON" -c 'import json, math, sys; r = json.load(sys.stdin); assert math.isfinite(r["loss"]) and len(r["logits"]) == 4 and len(r["sd_keep"]) == 3, r' &&
	[ -s "$TMP/out.safetensors" ]; then
	ok "forward --train-step preact-resnet-11 RoR-3 SD"
else
	fail "forward --train-step: ${out:-make-input failed}"
fi

# bytes: both modes counted, extrapolated to the batch asked for; --sd-keep of the wrong length refused.
if out=$("$PYTHON" "$REF" bytes --model resnet-14 --sd linear:0.5 --sd-keep 110111 --batch-size 16 --json 2>&1) &&
	echo "$out" | "$PYTHON" -c 'import json, sys; r = json.load(sys.stdin); assert r["units_kept"] == 5 and r["batch_size"] == 16 and all(r[m]["bytes_per_step"] > 0 for m in ("eager-fp32", "autocast-bf16-channels-last")), r' &&
	! "$PYTHON" "$REF" bytes --model resnet-14 --sd linear:0.5 --sd-keep 11 >/dev/null 2>&1; then
	ok "bytes resnet-14 SD --sd-keep"
else
	fail "bytes: $out"
fi

# The in-process checks: every family/variant finite, semantics, safetensors, SGD rule.
pyout=$("$PYTHON" test_pytorch_ref.py 2>&1)
echo "$pyout" | grep -v '^PY '
read -r _ p f <<<"$(echo "$pyout" | grep '^PY ' || echo "PY 0 1")"
passed=$((passed + p))
failed=$((failed + f))

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
