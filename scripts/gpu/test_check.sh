#!/usr/bin/env bash
# test_check.sh — runs check.sh and all.sh on stand-ins for the test binaries,
# deepres and bench.sh (no GPU, no Go, no simulator; a GPU session is too rare
# to debug the scripts there): the simulator mode sets what the test binaries
# need and skips what needs NVIDIA's files; card mode finds the wheels; the
# worker-thread rerun happens only for a thread-related failure and only when
# it fits; a killed check keeps the summary lines of the steps that finished;
# killing check.sh at all.sh's limit, or all.sh itself, leaves no process of
# theirs running (none while the benchmark runs); the logs end up in one archive.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
tmp=$(mktemp -d -t deepres-test-check.XXXXXX)
bin=$tmp/bin
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail() {
	echo "test_check.sh: $*" >&2
	exit 1
}

# Stand-ins. The GPU test binary behaves as STANDIN_GPU says: pass; context
# (fails with a context error unless DEEPRES_GPU_THREAD=worker); number (a
# wrong result); slowcontext (3 s, then a context error); hang (starts a
# child, and both run until killed). Each records its environment.
mkdir -p "$bin" "$tmp/sim" "$tmp/data" "$tmp/nv/cudnn/lib" "$tmp/py"
touch "$tmp/sim/libcuda.so.1"
for t in dl cudnn; do
	printf '#!/usr/bin/env bash\necho "=== RUN   TestX"\necho "env REQUIRE=$DEEPRES_REQUIRE_GPU LIBDIR=${DEEPRES_CUDA_LIB_DIR:-} LD=${LD_LIBRARY_PATH:-}"\necho "--- PASS: TestX"\n' >"$bin/$t.test"
done
cat >"$bin/gpu.test" <<'EOF'
#!/usr/bin/env bash
echo "env REQUIRE=$DEEPRES_REQUIRE_GPU LIBDIR=${DEEPRES_CUDA_LIB_DIR:-} THREAD=${DEEPRES_GPU_THREAD:-}"
forever() { while :; do sleep 0.2; done; }
[ "${1:-}" = child ] && forever
case $STANDIN_GPU in
pass) echo "--- PASS: TestConformanceFP32" ;;
context | slowcontext)
	[ "$STANDIN_GPU" = slowcontext ] && sleep 3
	[ "${DEEPRES_GPU_THREAD:-}" = worker ] && { echo "--- PASS: TestConformanceFP32"; exit 0; }
	echo "gpu_test.go:12: Open: cuCtxSetCurrent: CUDA_ERROR_INVALID_CONTEXT (invalid device context)"
	exit 1 ;;
number) echo "--- FAIL: TestConformanceFP32/ConvForward: y[3] = 1.5, want 1.25"; exit 1 ;;
hang)
	"$0" child &
	echo "hanging"
	forever ;;
esac
EOF
# deepres stand-in: a half-precision train says the layout --layout auto
# picked, nhwc unless STANDIN_LAYOUT says otherwise (as deepres's start-up
# line names a layout other than nchw).
cat >"$bin/deepres" <<'EOF'
#!/usr/bin/env bash
echo "deepres stand-in: $* THREAD=${DEEPRES_GPU_THREAD:-}"
case " $* " in
*" --precision bf16 "* | *" --precision fp16 "*) [ "${STANDIN_LAYOUT:-nhwc}" = nchw ] || echo "deepres: --layout ${STANDIN_LAYOUT:-nhwc}" ;;
esac
EOF
# A python3 that says NVIDIA's wheels are in $tmp/nv (check.sh asks it on a card).
printf '#!/bin/sh\necho %s\n' "$tmp/nv" >"$tmp/py/python3"
# standins.sh lists the stand-in processes still alive, from /proc (a
# minimal CI image may lack procps's pgrep).
cat >"$tmp/standins.sh" <<EOF
for f in /proc/[0-9]*/cmdline; do
	c=\$( { tr '\\0' ' ' <"\$f"; } 2>/dev/null) || continue
	case \$c in *"$bin/"*) echo "\${f%/cmdline}: \$c" ;; esac
done
EOF
cat >"$tmp/bench.sh" <<EOF
#!/usr/bin/env bash
# all.sh's benchmark stand-in: records any stand-in test binary still running.
bash "$tmp/standins.sh" >"$tmp/at-bench.txt"
echo "bench stand-in ran"
EOF
chmod +x "$bin"/* "$tmp/py/python3" "$tmp/bench.sh"
export GPU_BIN=$bin DEEPRES_DATA=$tmp/data PATH=$tmp/py:$PATH
unset DEEPRES_GPU_THREAD DEEPRES_CUDA_LIB_DIR DEEPRES_REQUIRE_GPU

has() { grep -Eq -- "$2" "$1" || { cat "$1" >&2; fail "$1 lacks /$2/"; }; }
lacks() { ! grep -Eq -- "$2" "$1" || { cat "$1" >&2; fail "$1 has /$2/"; }; }
# none_left: no stand-in process remains (3 s for the kills to land).
none_left() {
	for _ in $(seq 30); do
		[ -z "$(bash "$tmp/standins.sh")" ] && return 0
		sleep 0.1
	done
	bash "$tmp/standins.sh" >&2
	fail "stand-ins still running $1"
}

# 1. Simulator mode, everything passes.
o=$tmp/sim-pass
STANDIN_GPU=pass BUDGET=60 bash scripts/gpu/check.sh --sim "$tmp/sim" "$o" >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "check.sh --sim failed"; }
has "$o/summary.txt" "^abi +SKIPPED.*simulator"
for s in dl.test cudnn.test gpu.test devices train; do has "$o/summary.txt" "^$s +PASS"; done
has "$o/summary.txt" "^result: PASS"
has "$o/gpu.test.log" "REQUIRE=1 LIBDIR=$tmp/sim "
lacks "$o/dl.test.log" "LD=.*$tmp/nv" # no wheel discovery under the simulator
has "$o/train.log" "--steps 3 --batch-size 16"
lacks "$o/summary.txt" "gpu.worker"
for p in bf16 fp16; do has "$o/summary.txt" "^train.$p +PASS"; done
lacks "$o/summary.txt" "layout"
bash scripts/gpu/check.sh --sim "$tmp/nowhere" "$tmp/x" 2>"$tmp/err" && fail "--sim of a folder without libcuda.so.1 passed"
has "$tmp/err" "scripts/cudasim/build.sh"
# A half-precision run that --layout auto left in nchw fails the check.
o=$tmp/sim-nchw
STANDIN_GPU=pass STANDIN_LAYOUT=nchw BUDGET=60 bash scripts/gpu/check.sh --sim "$tmp/sim" "$o" >"$tmp/log" 2>&1 && fail "check.sh passed a bf16 run in nchw"
has "$o/summary.txt" "^train.bf16.layout +FAIL.*did not pick nhwc"
has "$o/summary.txt" "^train.fp16.layout +FAIL.*did not pick nhwc"

# 2. Card mode: the wheels go on the loader path, the ABI check runs (and
# fails here: no NVIDIA headers), DEEPRES_REQUIRE_GPU=1 all the same.
o=$tmp/card
STANDIN_GPU=pass BUDGET=60 bash scripts/gpu/check.sh "$o" >"$tmp/log" 2>&1 && fail "card mode passed without NVIDIA's headers"
has "$o/summary.txt" "^abi +FAIL"
has "$o/dl.test.log" "REQUIRE=1 LIBDIR= LD=$tmp/nv/cudnn/lib"
has "$o/train.log" "--steps 200 --batch-size 128"

# 3. The worker-thread rerun: after a context error, and then used for the
# rest; not after a wrong number; not when it does not fit the budget.
o=$tmp/context
STANDIN_GPU=context BUDGET=60 bash scripts/gpu/check.sh --sim "$tmp/sim" "$o" >"$tmp/log" 2>&1 && fail "a failed gpu.test passed"
has "$o/summary.txt" "^gpu.test +FAIL"
has "$o/summary.txt" "^gpu.worker +PASS"
has "$o/devices.log" "THREAD=worker"
o=$tmp/number
STANDIN_GPU=number BUDGET=60 bash scripts/gpu/check.sh --sim "$tmp/sim" "$o" >"$tmp/log" 2>&1 && fail "a failed gpu.test passed"
has "$o/summary.txt" "^gpu.worker +SKIPPED +- +the failure is not thread-related"
[ ! -e "$o/gpu.worker.log" ] || fail "gpu.test was rerun after a wrong number"
o=$tmp/slow
STANDIN_GPU=slowcontext BUDGET=20 bash scripts/gpu/check.sh --sim "$tmp/sim" "$o" >"$tmp/log" 2>&1 && fail "a failed gpu.test passed"
has "$o/summary.txt" "^gpu.worker +SKIPPED +- +no time left"

# wait_hanging LOG: waits until the GPU test stand-in says it hangs, up to
# 60 s: on a loaded machine (CI beside other jobs) 10 s was seen too short,
# and the kill then came before check.sh had written anything to pack.
wait_hanging() {
	for _ in $(seq 600); do
		grep -q hanging "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "the GPU test stand-in did not start hanging within 60 s ($1)"
}

# 4. check.sh killed while the GPU tests hang: the finished steps' lines
# stay, the hung step says it was killed, and nothing of it keeps running.
o=$tmp/killed
STANDIN_GPU=hang BUDGET=600 bash scripts/gpu/check.sh --sim "$tmp/sim" "$o" >"$tmp/log" 2>&1 &
pid=$!
wait_hanging "$o/gpu.test.log"
kill -TERM "$pid"
wait "$pid" && fail "a killed check.sh exited 0"
has "$o/summary.txt" "^dl.test +PASS"
has "$o/summary.txt" "^cudnn.test +PASS"
has "$o/summary.txt" "^gpu.test +KILLED"
has "$o/summary.txt" "^result: FAIL \(killed"
none_left "after check.sh was killed"

# 5. all.sh kills check.sh at its limit while the GPU tests hang (check.sh's
# own budget set far beyond it): nothing of check.sh runs during the
# benchmark or after, the finished steps' lines are there, the archive too.
o=$tmp/all
STANDIN_GPU=hang CHECK_TIME=5 CHECK_BUDGET=600 BENCH_TIME=20 BENCH_SH=$tmp/bench.sh \
	bash scripts/gpu/all.sh "$o" >"$tmp/log" 2>&1 || true
none_left "after all.sh"
[ -e "$tmp/at-bench.txt" ] || { cat "$tmp/log"; fail "the benchmark stand-in did not run"; }
[ ! -s "$tmp/at-bench.txt" ] || { cat "$tmp/at-bench.txt"; fail "check.sh's processes ran next to the benchmark"; }
has "$o/summary.txt" "^check.sh exit 124 \(killed at its 5s limit\)"
has "$o/summary.txt" "^bench.sh exit 0"
has "$o/check/summary.txt" "^cudnn.test +PASS"
has "$o/check/summary.txt" "^gpu.test +KILLED"
tar -tzf "$o/results.tar.gz" >"$tmp/list" || fail "no archive"
for f in summary.txt check.log check/summary.txt check/gpu.test.log bench.log; do has "$tmp/list" "^\./$f$"; done

# 6. all.sh itself killed mid-check: its children go too, and it still packs.
o=$tmp/all-killed
rm -f "$tmp/at-bench.txt"
STANDIN_GPU=hang CHECK_TIME=300 BENCH_SH=$tmp/bench.sh bash scripts/gpu/all.sh "$o" >"$tmp/log" 2>&1 &
pid=$!
wait_hanging "$o/check/gpu.test.log"
kill -TERM "$pid"
wait "$pid" && fail "a killed all.sh exited 0"
none_left "after all.sh was killed"
[ ! -e "$tmp/at-bench.txt" ] || fail "the benchmark ran after all.sh was killed"
has "$o/summary.txt" "^all.sh: killed"
tar -tzf "$o/results.tar.gz" | grep -q '^\./check/summary.txt$' || fail "no archive after all.sh was killed"
echo "test_check.sh: ok"
