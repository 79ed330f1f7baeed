#!/usr/bin/env bash
# check.sh [--sim LIBDIR] RESULTS_DIR: the GPU check. On a card: a machine with
# an NVIDIA GPU and NVIDIA's libraries (Python wheels or system packages) but
# no Go, after scripts/gpu/build.sh has filled .gpu/ elsewhere. It finds the
# libraries, compiles the ABI check against the real headers, runs the test
# binaries, `deepres devices` and a short training run, and writes every log
# into RESULTS_DIR. Safe to run twice (logs are overwritten). Never changes the
# card's settings. ABI_INCLUDE (space-separated folders) adds header folders
# for the ABI check, which then also runs on a machine without a GPU that has
# the headers.
#
# --sim LIBDIR runs the same test binaries against the NVIDIA-library
# simulator that scripts/cudasim/build.sh LIBDIR wrote (DEEPRES_CUDA_LIB_DIR
# points at it): no wheel discovery, no ABI check (no NVIDIA headers), and a
# shorter training run (TRAIN_STEPS, TRAIN_BATCH). In both modes
# DEEPRES_REQUIRE_GPU=1, so a test that finds no GPU or library fails.
#
# Each step's line is appended to RESULTS_DIR/summary.txt (and printed) as the
# step ends, so a check killed midway still reports what finished. The whole
# check keeps within BUDGET seconds (default 300; all.sh sets it): each step
# gets its own limit capped by what is left, a step with no time left is
# reported NOT RUN, and a failed gpu.test is rerun on the worker thread
# (DEEPRES_GPU_THREAD=worker) only when the failure can be thread-related and
# the rerun fits. Every step runs in its own process group, killed whole at
# its limit or when check.sh is killed (procgroup.sh).
# Env: BUDGET, GPU_BIN (.gpu), DEEPRES_DATA, TRAIN_STEPS, TRAIN_BATCH, ABI_INCLUDE.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=procgroup.sh
. "$here/procgroup.sh"

usage() {
	echo "usage: scripts/gpu/check.sh [--sim LIBDIR] RESULTS_DIR" >&2
	exit 2
}
sim=
while [ $# -gt 0 ]; do
	case $1 in
	--sim)
		[ $# -ge 2 ] || usage
		sim=$2
		shift 2
		;;
	--sim=*)
		sim=${1#--sim=}
		shift
		;;
	-*)
		echo "check.sh: unknown option $1" >&2
		usage
		;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || usage
results=$1
case ${BUDGET:-300} in
'' | *[!0-9]*)
	echo "check.sh: BUDGET=$BUDGET: want a number of seconds" >&2
	exit 2
	;;
esac
budget=${BUDGET:-300}
if [ -n "$sim" ]; then
	if [ ! -e "$sim/libcuda.so.1" ]; then
		echo "check.sh: --sim $sim: no libcuda.so.1 there; build the simulator first: scripts/cudasim/build.sh $sim" >&2
		exit 2
	fi
	DEEPRES_CUDA_LIB_DIR=$(cd "$sim" && pwd)
	export DEEPRES_CUDA_LIB_DIR
fi
export DEEPRES_REQUIRE_GPU=1
mkdir -p "$results"
results=$(cd "$results" && pwd)
cd "$root"
bin=${GPU_BIN:-.gpu}

incs=()
if [ -z "$sim" ]; then
	# NVIDIA's wheels: every nvidia/*/lib on the loader path, every include dir for the ABI check.
	for d in ${ABI_INCLUDE:-}; do incs+=("-I$d"); done
	NV=$(python3 -c 'import nvidia, os; print(list(nvidia.__path__)[0])' 2>/dev/null || true)
	if [ -n "$NV" ]; then
		libs=$(find "$NV" -type d -name lib | paste -sd: -)
		export LD_LIBRARY_PATH=${libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
		while IFS= read -r d; do incs+=("-I$d"); done < <(find "$NV" -type d -name include)
	fi
	for d in /usr/local/cuda/include /usr/include; do
		[ -d "$d" ] && incs+=("-I$d")
	done
	# Also the CUDA toolkit's targets dir, where nvcc packages put cuda.h.
	for d in /usr/local/cuda/targets/*/include; do
		[ -d "$d" ] && incs+=("-I$d")
	done
fi

summary=$results/summary.txt
failed=0
# line NAME STATUS SECONDS DETAIL: one summary line, appended and printed now.
line() {
	printf '%-10s %-28s %5s  %s\n' "$1" "$2" "$3" "$4" | tee -a "$summary"
}
current=
on_signal() {
	trap - TERM INT HUP
	if [ -n "${PG_CURRENT:-}" ]; then kill_group "$PG_CURRENT" 20; fi
	[ -n "$current" ] && line "$current" "KILLED (check.sh killed)" - "$results/$current.log"
	echo "result: FAIL (killed after ${SECONDS}s)" | tee -a "$summary"
	exit 143
}
trap on_signal TERM INT HUP

# step NAME LIMIT CMD...: runs CMD with its output in RESULTS_DIR/NAME.log,
# for at most LIMIT seconds (on a card) and what is left of the budget.
# Succeeds when CMD does.
step() {
	local name=$1 limit=$2 left start=$SECONDS status rc skips
	shift 2
	left=$((budget - SECONDS - 5))
	[ -n "$sim" ] && limit=$left # the simulator's speed is the CPU's: only the budget bounds it
	((limit > left)) && limit=$left
	if ((limit < 10)); then
		line "$name" "NOT RUN (out of time)" - "budget ${budget}s spent"
		failed=1
		return 1
	fi
	current=$name
	run_group "$limit" "$results/$name.log" "$@"
	rc=$?
	current=
	if ((rc == 0)); then status=PASS; elif ((rc == 124)); then status="FAIL(timeout ${limit}s)"; else status="FAIL(rc=$rc)"; fi
	skips=$(grep -c -- '--- SKIP' "$results/$name.log" 2>/dev/null)
	[ "${skips:-0}" != 0 ] && status="$status, $skips skipped"
	line "$name" "$status" "$((SECONDS - start))s" "$results/$name.log"
	((rc == 0)) || failed=1
	return "$rc"
}
skip() { line "$1" SKIPPED - "$2"; }

# thread_related LOG RC: whether a failed GPU test run can be the calling
# thread's fault (CUDA contexts are current per thread), so that the worker
# thread may fix it: a crash, a hang, or a context or initialisation error
# from the driver, cuBLAS or cuDNN. A wrong number or a missing library is not.
thread_related() {
	local log=$1 rc=$2
	((rc == 124 || rc >= 128)) && return 0
	grep -Eq 'CUDA_ERROR_(INVALID_CONTEXT|CONTEXT_IS_DESTROYED|CONTEXT_ALREADY_IN_USE|NOT_INITIALIZED)|CUBLAS_STATUS_NOT_INITIALIZED|CUDNN_STATUS_NOT_INITIALIZED|unexpected signal|SIGSEGV|SIGBUS|SIGABRT' "$log"
}

{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "host: $(hostname)"
	if [ -n "$sim" ]; then
		echo "mode: simulator ($DEEPRES_CUDA_LIB_DIR)"
	else
		echo "mode: card"
		nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || true
	fi
	echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
	echo "DEEPRES_CUDA_LIB_DIR=${DEEPRES_CUDA_LIB_DIR:-}"
	echo "DEEPRES_REQUIRE_GPU=$DEEPRES_REQUIRE_GPU"
	echo "budget: ${budget}s"
	echo "includes: ${incs[*]}"
} >"$results/environment.log"

mode=card
[ -n "$sim" ] && mode="simulator $DEEPRES_CUDA_LIB_DIR"
echo "== deepres GPU check ($mode, budget ${budget}s, $(date -u +%Y-%m-%dT%H:%M:%SZ)) ==" | tee "$summary"

if [ -n "$sim" ]; then
	skip abi "simulator: NVIDIA's headers are what the ABI check needs"
else
	step abi 60 gcc -std=gnu11 -Wall -Wno-deprecated-declarations -fsyntax-only "${incs[@]}" -Igpu -Icudnn scripts/gpu/abi-check.c
fi
for t in dl cudnn gpu; do
	if [ ! -x "$bin/$t.test" ]; then
		skip "$t.test" "no $bin/$t.test: run scripts/gpu/build.sh first"
		failed=1
		continue
	fi
	limit=120
	[ "$t" = gpu ] && limit=240
	start=$SECONDS
	step "$t.test" "$limit" "$bin/$t.test" -test.v -test.count=1
	rc=$?
	[ "$t" = gpu ] && ((rc != 0)) || continue
	# Were CUDA calls on the caller's thread (the default) the trouble? The
	# dedicated worker thread is the first design's fallback; if it passes,
	# the rest of the check (and all.sh's bench) uses it.
	took=$((SECONDS - start))
	if ! thread_related "$results/gpu.test.log" "$rc"; then
		skip gpu.worker "the failure is not thread-related (see gpu.test.log)"
	elif ((budget - SECONDS - 5 < took + 10)); then
		skip gpu.worker "no time left for a rerun (the first run took ${took}s)"
	elif step gpu.worker 240 env DEEPRES_GPU_THREAD=worker "$bin/gpu.test" -test.v -test.count=1; then
		export DEEPRES_GPU_THREAD=worker
	fi
done
if [ -x "$bin/gpu.test" ]; then
	# deepres's fused BN-add-ReLU kernels against cuDNN's fused Ex calls, fp16 NHWC
	# (BenchmarkBNAddReLU, gpu/bnex_bench_test.go): the timing that would decide whether the
	# backend should call cuDNN there. The simulator runs the small shape once (the harness,
	# and the two agreeing); a card times every shape.
	bench_bn=(-test.bench BNAddReLU -test.benchtime 200x)
	[ -n "$sim" ] && bench_bn=(-test.bench 'BNAddReLU/n8' -test.benchtime 1x)
	step bench.bn 120 "$bin/gpu.test" -test.run '^$' "${bench_bn[@]}"
fi
if [ -x "$bin/deepres" ]; then
	step devices 30 "$bin/deepres" devices
	data=${DEEPRES_DATA:-../shared/data/cifar10-jpeg}
	[ -z "${DEEPRES_DATA:-}" ] && [ -d "$bin/data" ] && data=$bin/data # copied there by build.sh
	steps=${TRAIN_STEPS:-200} batch=${TRAIN_BATCH:-128}
	[ -n "$sim" ] && steps=${TRAIN_STEPS:-3} batch=${TRAIN_BATCH:-16}
	if [ -d "$data" ]; then
		step train 120 "$bin/deepres" train --device cuda --model resnet-20 --dataset folder --data "$data" \
			--steps "$steps" --batch-size "$batch"
		# Half precision end to end (issue 22): bf16, and fp16 with its loss scaling, each step
		# captured as a CUDA graph where it can be (--cuda-graphs auto), the fused BN-add-ReLU on,
		# channels-last (--layout auto is nhwc for half precision on a GPU: said at start-up).
		for p in bf16 fp16; do
			if step "train.$p" 120 "$bin/deepres" train --device cuda --model resnet-20 --dataset folder --data "$data" \
				--steps "$steps" --batch-size "$batch" --precision "$p" --fuse &&
				! grep -q -- '--layout nhwc' "$results/train.$p.log"; then
				line "train.$p.layout" FAIL - "--layout auto did not pick nhwc (see train.$p.log)"
				failed=1
			fi
		done
	else
		skip train "no data at $data (set DEEPRES_DATA)"
		skip train.bf16 "no data at $data (set DEEPRES_DATA)"
		skip train.fp16 "no data at $data (set DEEPRES_DATA)"
	fi
else
	skip devices "no $bin/deepres"
	skip train "no $bin/deepres"
	skip train.bf16 "no $bin/deepres"
	skip train.fp16 "no $bin/deepres"
fi

if ((failed)); then result=FAIL; else result=PASS; fi
echo "result: $result (${SECONDS}s of ${budget}s)" | tee -a "$summary"
[ "$result" = PASS ]
