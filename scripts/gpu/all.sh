#!/usr/bin/env bash
# all.sh RESULTS_DIR — everything a GPU session should run, in one call and
# in order of value, within 9 minutes (a session has 15 minutes of device
# time, machine start included, and should leave room for a rerun):
# check.sh (ABI check, GPU tests incl. conformance and GPU-vs-CPU training,
# deepres devices, a short real training run) for at most CHECK_TIME seconds
# (330), then bench.sh with short timings and without torch.compile unless
# COMPILE=1 (deepres vs PyTorch eager) for at most BENCH_TIME (190). Build
# first on the build machine: scripts/gpu/build.sh.
#
# check.sh gets a budget 15 s under its limit, so it ends on its own; the
# limit is the backstop. Each part runs in its own process group and is
# killed whole at its limit, together with any group it started (their ids
# are listed in RESULTS_DIR/.pgids), so no test binary is left running on
# the GPU next to the benchmark. Summary lines go to RESULTS_DIR/summary.txt
# as each step ends (check.sh's own in RESULTS_DIR/check/summary.txt); the
# logs are packed into RESULTS_DIR/results.tar.gz, also when all.sh is
# killed. CHECK_BUDGET overrides check.sh's budget and BENCH_SH replaces
# bench.sh (scripts/gpu/test_check.sh uses both).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=procgroup.sh
. "$here/procgroup.sh"
out=${1:?usage: all.sh RESULTS_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
check_time=${CHECK_TIME:-330}
bench_time=${BENCH_TIME:-190}
bench_sh=${BENCH_SH:-$here/bench.sh}
export PG_LIST=$out/.pgids
: >"$PG_LIST"
summary=$out/summary.txt

# finish: kill every process group started here or by check.sh that is still
# alive, then pack the logs into one archive.
finish() {
	local g
	while read -r g; do
		[ -n "$g" ] && kill -0 -- "-$g" 2>/dev/null && kill_group "$g" 30
	done <"$PG_LIST"
	tar -czf "$out/results.tar.gz" --exclude=./results.tar.gz -C "$out" . 2>/dev/null
	echo "all.sh: logs packed into $out/results.tar.gz" | tee -a "$summary"
}
on_signal() {
	trap - TERM INT HUP
	if [ -n "${PG_CURRENT:-}" ]; then kill_group "$PG_CURRENT" 80; fi
	echo "all.sh: killed after ${SECONDS}s" | tee -a "$summary"
	finish
	exit 143
}
trap on_signal TERM INT HUP

echo "== deepres all.sh ($(date -u +%Y-%m-%dT%H:%M:%SZ)): check.sh ${check_time}s, bench.sh ${bench_time}s ==" | tee "$summary"
# check.sh's own trap kills its current step when all.sh's limit TERMs it;
# 8 s of grace, then KILL, and finish kills any step group it left.
budget=${CHECK_BUDGET:-$((check_time - 15))}
((budget < 10)) && budget=10
PG_GRACE=80 BUDGET=$budget run_group "$check_time" "$out/check.log" bash "$here/check.sh" "$out/check"
rc=$?
while read -r g; do
	[ -n "$g" ] && kill -0 -- "-$g" 2>/dev/null && kill_group "$g" 30
done <"$PG_LIST"
echo "check.sh exit $rc$( ((rc == 124)) && echo " (killed at its ${check_time}s limit)") after ${SECONDS}s" | tee -a "$summary"
# check.sh falls back to the worker thread when the GPU tests pass only there.
if grep -q '^gpu.worker *PASS' "$out/check/summary.txt" 2>/dev/null; then
	export DEEPRES_GPU_THREAD=worker
	echo "all.sh: bench with DEEPRES_GPU_THREAD=worker (the GPU tests failed on the caller's thread)" | tee -a "$summary"
fi
start=$SECONDS
STEPS=${STEPS:-5} WARMUP=${WARMUP:-2} COMPILE=${COMPILE:-0} run_group "$bench_time" "$out/bench.log" bash "$bench_sh" "$out/bench"
rc=$?
echo "bench.sh exit $rc$( ((rc == 124)) && echo " (killed at its ${bench_time}s limit)") after $((SECONDS - start))s" | tee -a "$summary"
finish
echo "== check"
cat "$out/check/summary.txt" 2>/dev/null || tail -n 25 "$out/check.log"
echo "== bench"
tail -n 12 "$out/bench.log"
