#!/usr/bin/env bash
# check.sh RESULTS_DIR: the GPU check, run on a machine with an NVIDIA GPU
# and NVIDIA's libraries (Python wheels or system packages) but no Go, after
# scripts/gpu/build.sh has filled .gpu/ elsewhere. It finds the libraries,
# compiles the ABI check against the real headers, runs the test binaries,
# `deepres devices` and a short training run, writes every log into
# RESULTS_DIR and prints a summary table last. Safe to run twice (logs are
# overwritten). Never changes the card's settings. ABI_INCLUDE (space-separated
# folders) adds header folders for the ABI check, which then also runs on a
# machine without a GPU that has the headers.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
results=${1:?usage: scripts/gpu/check.sh RESULTS_DIR}
mkdir -p "$results"
results=$(cd "$results" && pwd)

# NVIDIA's wheels: every nvidia/*/lib on the loader path, every include dir for the ABI check.
incs=()
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

summary=()
# step NAME TIMEOUT CMD...: runs CMD with its output in RESULTS_DIR/NAME.log.
step() {
	local name=$1 limit=$2
	shift 2
	local log="$results/$name.log" start=$SECONDS status
	if timeout "$limit" "$@" >"$log" 2>&1; then status=PASS; else status="FAIL(rc=$?)"; fi
	local skips
	skips=$(grep -c -- '--- SKIP' "$log" 2>/dev/null || true)
	[ "${skips:-0}" != 0 ] && status="$status, $skips skipped"
	summary+=("$(printf '%-10s %-28s %5ss  %s' "$name" "$status" $((SECONDS - start)) "$log")")
	[ "$status" != "${status#PASS}" ] # the step's success
}
skip() { summary+=("$(printf '%-10s %-28s %5s   %s' "$1" SKIPPED - "$2")"); }

{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "host: $(hostname)"
	nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || true
	echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
	echo "includes: ${incs[*]}"
} >"$results/environment.log"

step abi 120 gcc -std=gnu11 -Wall -Wno-deprecated-declarations -fsyntax-only "${incs[@]}" -Igpu -Icudnn scripts/gpu/abi-check.c
for t in dl cudnn gpu; do
	if [ -x ".gpu/$t.test" ]; then
		if ! step "$t.test" 180 ".gpu/$t.test" -test.v -test.count=1 && [ "$t" = gpu ]; then
			# Were CUDA calls on the caller's thread (the default) the trouble?
			# The dedicated worker thread is the first design's fallback; if it
			# passes, the rest of the check (and all.sh's bench) uses it.
			if step gpu.worker 180 env DEEPRES_GPU_THREAD=worker .gpu/gpu.test -test.v -test.count=1; then
				export DEEPRES_GPU_THREAD=worker
			fi
		fi
	else
		skip "$t.test" "no .gpu/$t.test: run scripts/gpu/build.sh first"
	fi
done
if [ -x .gpu/deepres ]; then
	step devices 60 .gpu/deepres devices
	data=${DEEPRES_DATA:-../shared/data/cifar10-jpeg}
	[ -z "${DEEPRES_DATA:-}" ] && [ -d .gpu/data ] && data=.gpu/data # copied there by build.sh
	if [ -d "$data" ]; then
		step train 120 .gpu/deepres train --device cuda --model resnet-20 --dataset folder --data "$data" \
			--steps 200 --batch-size 128
	else
		skip train "no data at $data (set DEEPRES_DATA)"
	fi
else
	skip devices "no .gpu/deepres"
	skip train "no .gpu/deepres"
fi

{
	echo
	echo "== deepres GPU check summary ($(date -u +%Y-%m-%dT%H:%M:%SZ)) =="
	printf '%s\n' "${summary[@]}"
} | tee "$results/summary.txt"
! grep -q FAIL "$results/summary.txt"
