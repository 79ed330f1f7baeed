#!/usr/bin/env bash
# bench.sh RESULTS_DIR — on the GPU machine (no Go; run scripts/gpu/build.sh
# on the build machine first): times deepres and PyTorch (eager,
# torch.compile and torch.compile mode="reduce-overhead", which launches CUDA
# graphs) on the same card, same models, batch and math mode, and prints one table:
#   model | deepres img/s | PyTorch eager | torch.compile | reduce-overhead | ratio | deepres peak MiB | PyTorch peak MiB
# deepres's rows launch each step as one CUDA graph where it can (--cuda-graphs auto, the
# default; the JSON says whether it did, and why not); the "eager launch" rows launch every op.
# deepres's peak is its tensors' plus its cuDNN workspace (peak_bytes + workspace_bytes of
# `deepres bench --json`), as torch.cuda.max_memory_allocated counts PyTorch's workspaces too.
# Raw JSON lines and logs go to RESULTS_DIR; the table to RESULTS_DIR/table.md.
# Safe to run twice. Env: STEPS (20), WARMUP (5), MATH (tf32), PYTHON (python3),
# COMPILE (1; 0 skips torch.compile, which can take minutes per model), BATCH (128),
# DEVICE (cuda; cpu lets scripts/gpu/test_bench.sh run the script itself without a GPU),
# ROWS (replaces the rows below: one per line, the same format), DEEPRES (.gpu/deepres),
# GPU_BIN (.gpu: where build.sh put the binaries).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: bench.sh RESULTS_DIR}
mkdir -p "$out"
cd "$root"
steps=${STEPS:-20}; warmup=${WARMUP:-5}; math=${MATH:-tf32}; py=${PYTHON:-python3}
batch=${BATCH:-128}; device=${DEVICE:-cuda}
if NV=$("$py" -c 'import nvidia, os; print(list(nvidia.__path__)[0])' 2>/dev/null); then
	export LD_LIBRARY_PATH=$(find "$NV" -type d -name lib | paste -sd: -)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
dr=${DEEPRES:-${GPU_BIN:-.gpu}/deepres}
[ -x "$dr" ] || { echo "bench.sh: $dr missing: run scripts/gpu/build.sh on the build machine" >&2; exit 1; }

# name|deepres flags|pytorch flags[|deepres env]. PyTorch flags that an earlier row already ran are
# not run again: that row's results are reused. In order of value (all.sh gives the whole table a few
# minutes): the four targets' rows first.
rows=(
	"resnet-110|--model resnet-110|--model resnet-110"
	"resnet-110 eager launch|--model resnet-110 --cuda-graphs off|--model resnet-110"
	"resnet-1202|--model resnet-1202|--model resnet-1202"
	"resnet-1202 eager launch|--model resnet-1202 --cuda-graphs off|--model resnet-1202"
	"resnet-1202 --recompute unit|--model resnet-1202 --recompute unit|--model resnet-1202"
	"resnet-1202 SD 0.5|--model resnet-1202 --sd linear:0.5|--model resnet-1202 --sd linear:0.5"
	"resnet-1202 SD 0.5 eager launch|--model resnet-1202 --sd linear:0.5 --cuda-graphs off|--model resnet-1202 --sd linear:0.5"
	"wrn-28-10|--model wrn-28-10|--model wrn-28-10"
	"wrn-28-10 eager launch|--model wrn-28-10 --cuda-graphs off|--model wrn-28-10"
	"preact-resnet-164|--model preact-resnet-164|--model preact-resnet-164"
	"resnet-1202 --recompute bn|--model resnet-1202 --recompute bn|--model resnet-1202"
	"resnet-1202 worker thread|--model resnet-1202|--model resnet-1202|DEEPRES_GPU_THREAD=worker"
	# Half precision (issue 22): deepres bf16/fp16 (fused BN-add-ReLU, --layout auto) against PyTorch
	# autocast + channels_last (fp16 with its GradScaler) in eager, torch.compile and reduce-overhead.
	"resnet-110 bf16|--model resnet-110 --precision bf16 --fuse|--model resnet-110 --amp bf16 --channels-last"
	"resnet-1202 bf16|--model resnet-1202 --precision bf16 --fuse|--model resnet-1202 --amp bf16 --channels-last"
	"resnet-1202 fp16|--model resnet-1202 --precision fp16 --fuse|--model resnet-1202 --amp fp16 --channels-last"
	"resnet-1202 SD 0.5 bf16|--model resnet-1202 --sd linear:0.5 --precision bf16 --fuse|--model resnet-1202 --sd linear:0.5 --amp bf16 --channels-last"
	"preact-resnet-164 bf16|--model preact-resnet-164 --precision bf16 --fuse|--model preact-resnet-164 --amp bf16 --channels-last"
	"wrn-28-10 bf16|--model wrn-28-10 --precision bf16 --fuse|--model wrn-28-10 --amp bf16 --channels-last"
)
if [ -n "${ROWS:-}" ]; then
	mapfile -t rows <<<"$ROWS"
fi
field() { "$py" -c "import json,sys; d=json.loads(sys.stdin.read() or '{}'); v=d.get('$1'); print('-' if v is None else (round(v,1) if isinstance(v,float) else v))"; }
table="$out/table.md"
{
	echo "card: $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1), date: $(date -u +%F), device $device, batch $batch, math $math, $steps timed steps after $warmup"
	echo
	echo "| model | deepres img/s | PyTorch eager | torch.compile | torch.compile reduce-overhead | ratio (vs eager) | deepres peak MiB (tensors + workspace) | PyTorch peak MiB |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
} >"$table"
# Each run is limited with timeout --foreground: GNU timeout otherwise puts it in a
# process group of its own, out of reach of all.sh, which kills bench.sh's group at
# its limit (scripts/gpu/procgroup.sh).
declare -A ran # PyTorch flags → the slug of the row that ran them
for row in "${rows[@]}"; do
	IFS='|' read -r name dflags pflags denv <<<"$row"
	slug=${name// /_}
	# shellcheck disable=SC2086
	timeout --foreground 300 env $denv "$dr" bench $dflags --batch-size "$batch" --device "$device" --math "$math" --steps "$steps" --warmup "$warmup" --json >"$out/$slug.deepres.json" 2>"$out/$slug.deepres.log"
	if [ -n "${ran[$pflags]:-}" ]; then
		cp "$out/${ran[$pflags]}.eager.json" "$out/$slug.eager.json"
		cp "$out/${ran[$pflags]}.compile.json" "$out/$slug.compile.json"
		cp "$out/${ran[$pflags]}.graphs.json" "$out/$slug.graphs.json"
	else
		ran[$pflags]=$slug
		# shellcheck disable=SC2086
		timeout --foreground 300 "$py" scripts/bench/pytorch_ref.py bench $pflags --batch-size "$batch" --device "$device" --math "$math" --steps "$steps" --warmup "$warmup" --json >"$out/$slug.eager.json" 2>"$out/$slug.eager.log"
	fi
	if [ "${ran[$pflags]}" != "$slug" ]; then
		:
	elif [ "${COMPILE:-1}" = 1 ]; then
		# shellcheck disable=SC2086
		timeout --foreground 600 "$py" scripts/bench/pytorch_ref.py bench $pflags --batch-size "$batch" --device "$device" --math "$math" --steps "$steps" --warmup "$warmup" --compile --json >"$out/$slug.compile.json" 2>"$out/$slug.compile.log"
		# shellcheck disable=SC2086
		timeout --foreground 600 "$py" scripts/bench/pytorch_ref.py bench $pflags --batch-size "$batch" --device "$device" --math "$math" --steps "$steps" --warmup "$warmup" --compile --compile-mode reduce-overhead --json >"$out/$slug.graphs.json" 2>"$out/$slug.graphs.log"
	else
		echo '{}' >"$out/$slug.compile.json"
		echo '{}' >"$out/$slug.graphs.json"
	fi
	d=$(field img_per_s <"$out/$slug.deepres.json"); e=$(field img_per_s <"$out/$slug.eager.json"); c=$(field img_per_s <"$out/$slug.compile.json")
	g=$(field img_per_s <"$out/$slug.graphs.json")
	# Like with like: PyTorch's max_memory_allocated counts cuDNN's workspaces, so deepres's
	# figure is its tensors' peak plus its workspace, shown as "total (tensors + workspace)".
	dm=$("$py" -c "import json; d=json.load(open('$out/$slug.deepres.json')); p, w = d.get('peak_bytes', -1), d.get('workspace_bytes', -1)
print('-' if p < 0 else round(p/2**20) if w < 0 else '%d (%d + %d)' % (round((p+w)/2**20), round(p/2**20), round(w/2**20)))" 2>/dev/null || echo -)
	pm=$(field peak_mem_mib <"$out/$slug.eager.json")
	ratio=$("$py" -c "print(round($d/$e,2))" 2>/dev/null || echo -)
	echo "| $name | $d | $e | $c | $g | $ratio | $dm | $pm |" >>"$table"
done
cat "$table"
