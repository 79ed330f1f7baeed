#!/usr/bin/env bash
# check.sh: what CI runs on NVIDIA's real software, no GPU needed
# (docs/nvidia-software.md). Fetches the pinned CUDA 12 and 13 stacks
# (fetch.sh, cached in $DEEPRES_NVIDIA_CACHE) and fails on:
#  - an ABI mismatch between gpu/cuda_shim.h, cudnn/cudnn_shim.h and the
#    stacks' real headers, a shim declaration without its check, or a check
#    that no longer catches a break made on purpose (abi-check.sh);
#  - a kernel that NVIDIA's NVRTC cannot compile to a CUBIN for an
#    architecture it lists (sm_70 up), or any spill
#    (gpu TestKernelsCompileWithNVIDIANVRTC; the table goes to
#    $DEEPRES_KERNEL_REPORT_DIR/<stack>.tsv when set);
#  - library discovery on the stacks' wheel layouts without a driver, and
#    the mixed stack's error (gpu TestLibrariesFromNVIDIAStack, internal/dl
#    TestOpenInNVIDIAStack, `deepres devices`);
#  - a disagreement between the simulator (internal/cudasim) and the real
#    cuDNN or NVRTC on the calls that need no GPU
#    (TestSimulatorCUDNNMatchesReal, TestSimulatorNVRTCMatchesReal).
# Needs python3 with pip, gcc and Go; about 2.7 GB of wheels on a cold cache.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export CGO_ENABLED=1 DEEPRES_REQUIRE_NVIDIA=1
unset DEEPRES_CUDA_LIB_DIR
t0=$SECONDS
step() { printf '\n== nvidia: %s (%ss)\n' "$1" "$((SECONDS - t0))"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step "fetch the pinned stacks (scripts/nvidia/cu12.txt, cu13.txt)"
declare -A dir
for s in cu12 cu13 mixed; do
	dir[$s]=$(bash scripts/nvidia/fetch.sh "$s")
	echo "$s: ${dir[$s]} ($(du -sh --apparent-size "${dir[$s]}/" | cut -f1))"
done

step "ABI: deepres's shims against the real headers"
for s in cu12 cu13; do
	bash scripts/nvidia/abi-check.sh "${dir[$s]}"
done

step "build the test binaries and deepres"
go test -c -o "$tmp/gpu.test" ./gpu
go test -c -o "$tmp/dl.test" ./internal/dl
go build -o "$tmp/deepres" ./cmd/deepres

step "NVIDIA's NVRTC compiles deepres's kernels (every listed arch from sm_70, no spill)"
for s in cu12 cu13; do
	report=${DEEPRES_KERNEL_REPORT_DIR:-$tmp}/$s.tsv
	mkdir -p "$(dirname "$report")"
	DEEPRES_NVIDIA_STACK=${dir[$s]} DEEPRES_KERNEL_REPORT=$report \
		"$tmp/gpu.test" -test.run '^TestKernelsCompileWithNVIDIANVRTC$' -test.v | grep -E '^(---|ok|FAIL|\s+kernelcheck)'
	echo "$s: $(wc -l <"$report") kernel/architecture rows, $(awk -F'\t' '$7 + $8 > 0' "$report" | wc -l) with spills"
done

step "library discovery on the wheel layouts, no driver"
for s in cu12 cu13 mixed; do
	DEEPRES_NVIDIA_STACK=${dir[$s]} "$tmp/gpu.test" -test.run '^TestLibrariesFromNVIDIAStack$' -test.v | grep -E '^(---|ok|FAIL|\s+libraries)'
	DEEPRES_NVIDIA_STACK=${dir[$s]} "$tmp/dl.test" -test.run '^TestOpenInNVIDIAStack$' -test.v | grep -E '^(---|ok|FAIL|\s+stack)'
	# deepres devices names what it found and the missing driver, and fails.
	if PYTHONPATH=${dir[$s]} "$tmp/deepres" devices >"$tmp/devices.out" 2>"$tmp/devices.err"; then
		echo "check.sh: deepres devices succeeded without a driver" >&2
		exit 1
	fi
	cat "$tmp/devices.out"
	grep -q '^cuDNN   9\.[0-9]*\.[0-9]* (.*libcudnn.so.9), built for CUDA 1[23]$' "$tmp/devices.out"
	grep -q '^driver  unavailable: libcuda.so.1 (NVIDIA CUDA driver) not found$' "$tmp/devices.out"
	if [ "$s" = mixed ]; then
		grep -q '^cuBLAS  unavailable: .*libcublasLt.so.12.*libcublas.so.12 (cuBLAS) not found$' "$tmp/devices.out"
	else
		grep -q "^cuBLAS  [0-9.]* (${dir[$s]}/.*libcublas.so.1[23])\$" "$tmp/devices.out"
		grep -q "^NVRTC   [0-9.]* (${dir[$s]}/.*libnvrtc.so.1[23])\$" "$tmp/devices.out"
	fi
done

step "the simulator against NVIDIA's cuDNN and NVRTC (calls that need no GPU)"
for s in cu12 cu13; do
	# go test, not a test binary: the harnesses are built from the
	# package's testdata/, relative to its folder.
	DEEPRES_NVIDIA_STACK=${dir[$s]} go test -count=1 -v \
		-run '^(TestSimulatorCUDNNMatchesReal|TestSimulatorNVRTCMatchesReal)$' ./internal/cudasim | grep -E '^(---|ok|FAIL|PASS)'
done

step "done"
