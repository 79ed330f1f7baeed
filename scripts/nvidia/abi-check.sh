#!/usr/bin/env bash
# abi-check.sh STACKDIR: checks deepres's own declarations of NVIDIA's API
# (gpu/cuda_shim.h, cudnn/cudnn_shim.h) against the real headers of a stack
# that scripts/nvidia/fetch.sh installed (every DIR/nvidia/*/include: cuda.h
# is in cuda_runtime/include for CUDA 12 and cu13/include for CUDA 13).
#  1. every dr_pfn_ typedef and DR_ constant of the shims has its line in
#     scripts/gpu/abi-check.c (a declaration nobody checks fails here);
#  2. abi-check.c compiles (gcc -fsyntax-only) with the real headers;
#  3. copies of the shims broken on purpose (a prototype, a struct field, a
#     constant, an unchecked typedef) must each fail with the right message,
#     so a check that cannot fail would show.
# Needs gcc. Exits non-zero on any mismatch.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
stack=${1:?usage: abi-check.sh STACKDIR}
cd "$root"
inc=()
for d in "$stack"/nvidia/*/include; do
	inc+=("-I$d")
done

# complete GPUDIR CUDNNDIR: every dr_pfn_X has SAME_FN(X) or SAME_FN_WITH(X,
# and every #define DR_X has SAME_VALUE(DR_X, in abi-check.c.
complete() {
	local missing=0 name
	for name in $(sed -n 's/.*(\*dr_pfn_\([A-Za-z0-9_]*\)).*/\1/p' "$1/cuda_shim.h" "$2/cudnn_shim.h"); do
		if ! grep -Eq "SAME_FN(_WITH)?\\($name[,)]" scripts/gpu/abi-check.c; then
			echo "abi-check.sh: dr_pfn_$name has no SAME_FN($name) in scripts/gpu/abi-check.c" >&2
			missing=1
		fi
	done
	for name in $(sed -n 's/^#define \(DR_[A-Za-z0-9_]*\) .*/\1/p' "$1/cuda_shim.h" "$2/cudnn_shim.h"); do
		if ! grep -q "SAME_VALUE($name," scripts/gpu/abi-check.c; then
			echo "abi-check.sh: $name has no SAME_VALUE($name, ...) in scripts/gpu/abi-check.c" >&2
			missing=1
		fi
	done
	return $missing
}

# compile GPUDIR CUDNNDIR: abi-check.c with those shims and the stack's headers.
compile() {
	gcc -std=gnu11 -Wall -Werror -fsyntax-only "${inc[@]}" -I"$1" -I"$2" scripts/gpu/abi-check.c
}

versions=$(printf '#include <cuda.h>\n#include <cublas_v2.h>\n#include <cudnn.h>\n%s\n' \
	'CUDA_VERSION CUBLAS_VER_MAJOR CUBLAS_VER_MINOR CUBLAS_VER_PATCH CUDNN_MAJOR CUDNN_MINOR CUDNN_PATCHLEVEL' |
	gcc -E -P "${inc[@]}" - | tail -n 1)
read -r cuda b1 b2 b3 d1 d2 d3 <<<"$versions"
cublas=$b1.$b2.$b3
cudnn=$d1.$d2.$d3
complete gpu cudnn
compile gpu cudnn
echo "abi-check.sh: $(grep -c '^SAME_\|^_Static_assert' scripts/gpu/abi-check.c) checks pass against $stack" \
	"(cuda.h $cuda, cuBLAS $cublas, cuDNN $cudnn)"

# The same check on broken copies: each must fail, naming what was broken.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
broken() {
	local what=$1 file=$2 expr=$3 want=$4
	rm -rf "$tmp/gpu" "$tmp/cudnn"
	cp -r gpu cudnn "$tmp/"
	sed -i "$expr" "$tmp/$file"
	if cmp -s "$file" "$tmp/$file"; then
		echo "abi-check.sh: the break '$what' changed nothing in $file (edit this script)" >&2
		exit 1
	fi
	if { complete "$tmp/gpu" "$tmp/cudnn" && compile "$tmp/gpu" "$tmp/cudnn"; } >"$tmp/log" 2>&1; then
		echo "abi-check.sh: $what: the check passed a broken $file" >&2
		exit 1
	fi
	if ! grep -q "$want" "$tmp/log"; then
		echo "abi-check.sh: $what: failed, but without '$want':" >&2
		cat "$tmp/log" >&2
		exit 1
	fi
	echo "abi-check.sh: broken on purpose, caught: $what"
}
broken "cuMemAlloc_v2 takes an unsigned int size" gpu/cuda_shim.h \
	's/(dr_CUdeviceptr \*dptr, size_t bytesize)/(dr_CUdeviceptr *dptr, unsigned int bytesize)/' \
	'prototype of cuMemAlloc_v2 differs'
broken "cuGraphAddNode_v2 takes an int count" gpu/cuda_shim.h \
	's/const dr_CUgraphEdgeData \*dependencyData, size_t numDependencies/const dr_CUgraphEdgeData *dependencyData, int numDependencies/' \
	'prototype of cuGraphAddNode_v2 differs'
broken "the conditional node's size field is 8 bytes" gpu/cuda_shim.h \
	's/^\tunsigned int size;/\tunsigned long long size;/' \
	'dr_CUDA_CONDITIONAL_NODE_PARAMS.size is not laid out'
broken "a cuDNN perf record lacks a reserved int" cudnn/cudnn_shim.h \
	'0,/int reserved\[3\];/s//int reserved[2];/' \
	'dr_cudnnConvFwdPerf size differs'
broken "CU_GRAPH_NODE_TYPE_CONDITIONAL is 14" gpu/cuda_shim.h \
	's/^#define DR_CU_GRAPH_NODE_TYPE_CONDITIONAL 13u/#define DR_CU_GRAPH_NODE_TYPE_CONDITIONAL 14u/' \
	'DR_CU_GRAPH_NODE_TYPE_CONDITIONAL != CU_GRAPH_NODE_TYPE_CONDITIONAL'
broken "a typedef without its line in abi-check.c" gpu/cuda_shim.h \
	's/^\(typedef dr_CUresult (\*dr_pfn_cuInit)(unsigned int Flags);\)/\1\ntypedef dr_CUresult (*dr_pfn_cuCtxSynchronize)(void);/' \
	'dr_pfn_cuCtxSynchronize has no SAME_FN'
broken "cublasGemmEx without its algo parameter" gpu/cuda_shim.h \
	's/dr_cublasComputeType computeType, dr_cublasGemmAlgo algo);/dr_cublasComputeType computeType);/' \
	'prototype of cublasGemmEx differs'
broken "cublasGemmAlgo_t as unsigned (CUBLAS_GEMM_DEFAULT is -1)" gpu/cuda_shim.h \
	's/^typedef int dr_cublasGemmAlgo;/typedef unsigned int dr_cublasGemmAlgo;/' \
	'dr_cublasGemmAlgo is not cublasGemmAlgo_t'
broken "CUDA_R_16BF is 15" gpu/cuda_shim.h \
	's/^#define DR_CUDA_R_16BF 14u/#define DR_CUDA_R_16BF 15u/' \
	'DR_CUDA_R_16BF != CUDA_R_16BF'
broken "CUDNN_DATA_BFLOAT16 is 10" cudnn/cudnn_shim.h \
	's/^#define DR_CUDNN_DATA_BFLOAT16 9u/#define DR_CUDNN_DATA_BFLOAT16 10u/' \
	'DR_CUDNN_DATA_BFLOAT16 != CUDNN_DATA_BFLOAT16'
broken "cudnnBatchNormalizationBackwardEx without its dz" cudnn/cudnn_shim.h \
	's/const dr_cudnnTensorDesc dzDesc, void \*dzData, const dr_cudnnTensorDesc dxDesc/const dr_cudnnTensorDesc dxDesc/' \
	'prototype of cudnnBatchNormalizationBackwardEx differs'
broken "CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION is 1" cudnn/cudnn_shim.h \
	's/^#define DR_CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION 2u/#define DR_CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION 1u/' \
	'DR_CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION != CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION'
