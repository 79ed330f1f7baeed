#!/usr/bin/env bash
# all.sh RESULTS_DIR — everything a GPU session should run, in one call and
# in order of value, within 9 minutes (a session has 15 minutes of device
# time, machine start included, and should leave room for a rerun):
# check.sh (ABI check, GPU tests incl. conformance and GPU-vs-CPU training,
# deepres devices, a short real training run), then bench.sh with short
# timings and without torch.compile unless COMPILE=1 (deepres vs PyTorch
# eager). Build first on the build machine: scripts/gpu/build.sh.
# Each part writes its logs under RESULTS_DIR; the summaries are printed last.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: all.sh RESULTS_DIR}
mkdir -p "$out"
timeout 300 bash "$here/check.sh" "$out/check" >"$out/check.log" 2>&1
echo "check.sh exit $?" >>"$out/check.log"
# check.sh falls back to the worker thread when the GPU tests pass only there.
if grep -q '^gpu.worker *PASS' "$out/check/summary.txt" 2>/dev/null; then
	export DEEPRES_GPU_THREAD=worker
	echo "all.sh: bench with DEEPRES_GPU_THREAD=worker (the GPU tests failed on the caller's thread)" >>"$out/check.log"
fi
STEPS=${STEPS:-5} WARMUP=${WARMUP:-2} COMPILE=${COMPILE:-0} timeout 240 bash "$here/bench.sh" "$out/bench" >"$out/bench.log" 2>&1
echo "bench.sh exit $?" >>"$out/bench.log"
echo "== check"; tail -n 25 "$out/check.log"
echo "== bench"; tail -n 12 "$out/bench.log"
