#!/usr/bin/env bash
# compile-kernels.sh: checks that gpu/kernels/*.cu compile, without any
# NVIDIA SDK, with clang's CUDA mode emitting PTX for sm_80 (and sm_90 where
# this clang knows it; Debian 12's clang 14 stops at sm_86).
# The translation unit is the one NVRTC compiles at run time (common.cuh
# followed by every .cu file in name order). Exits non-zero on any error or
# warning. Needs clang (apt-get install -y clang).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
clang=${CLANG:-clang}
if ! command -v "$clang" >/dev/null; then
	echo "compile-kernels.sh: $clang not found (apt-get install -y clang)" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unit="$tmp/deepres_kernels.cu"
cat gpu/kernels/common.cuh >"$unit"
for f in $(ls gpu/kernels/*.cu | sort); do
	printf '\n// ---- %s ----\n' "${f#gpu/}" >>"$unit"
	cat "$f" >>"$unit"
done
want=$(grep -c 'extern "C" __global__' "$unit")
archs=sm_80
if echo | "$clang" -x cuda --cuda-device-only -nocudainc -nocudalib --cuda-gpu-arch=sm_90 -S -o /dev/null - 2>/dev/null; then
	archs="sm_80 sm_90"
fi
for arch in $archs; do
	"$clang" -x cuda --cuda-device-only -nocudainc -nocudalib --cuda-gpu-arch="$arch" \
		-std=c++17 -Wall -Werror -Wno-unknown-cuda-version \
		-include scripts/gpu/clang-cuda-prelude.h -S -o "$tmp/kernels-$arch.ptx" "$unit"
	n=$(grep -c '^\.visible \.entry' "$tmp/kernels-$arch.ptx" || true)
	if [ "$n" != "$want" ]; then
		echo "compile-kernels.sh: $arch: $n kernel entries in the PTX, $want in the source" >&2
		exit 1
	fi
	echo "compile-kernels.sh: $arch ok, $n kernels"
done

# The conditional-node setter is its own program (gpu/branch.go): common.cuh
# then kernels/branch/set_branches.cu. Its call to cudaGraphSetConditional
# stays an external function in clang's PTX. deepres asks NVRTC for a CUBIN,
# and then NVRTC's own ptxas must resolve it, which it does from NVRTC 12.3
# on (12.2: "Unresolved extern function 'cudaGraphSetConditional'"; see
# setterNVRTC in gpu/branch.go). scripts/nvidia/check.sh compiles the setter
# to CUBINs with NVIDIA's real NVRTC 12.8 and 13.5.
branch="$tmp/deepres_branches.cu"
cat gpu/kernels/common.cuh gpu/kernels/branch/set_branches.cu >"$branch"
for arch in $archs; do
	"$clang" -x cuda --cuda-device-only -nocudainc -nocudalib --cuda-gpu-arch="$arch" \
		-std=c++17 -Wall -Werror -Wno-unknown-cuda-version \
		-include scripts/gpu/clang-cuda-prelude.h -S -o "$tmp/branches-$arch.ptx" "$branch"
	if ! grep -q '^\.visible \.entry dr_set_branches' "$tmp/branches-$arch.ptx" ||
		! grep -q '\.extern \.func cudaGraphSetConditional' "$tmp/branches-$arch.ptx"; then
		echo "compile-kernels.sh: $arch: the setter's PTX lacks dr_set_branches or its call to cudaGraphSetConditional" >&2
		exit 1
	fi
	echo "compile-kernels.sh: $arch setter ok"
done
