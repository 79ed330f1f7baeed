#!/usr/bin/env bash
# mutants.sh [--sample N] [--only NAME] [--list] [--applies] [SIMDIR]: plants known bugs
# in the GPU path, one at a time, and requires the GPU tests to catch each
# under the NVIDIA-library simulator (internal/cudasim/README.md,
# "Mutants"). Each mutant is a small textual change to one file of a
# scratch copy of the working tree (tracked and untracked files, .gitignore
# respected); the copy's test binary for the mutant's package is built,
# then run with DEEPRES_REQUIRE_GPU=1 and DEEPRES_CUDA_LIB_DIR=SIMDIR on
# the tests that should catch it, and must FAIL. A mutant whose tests pass
# is a survivor: the script lists the survivors and exits 1. A mutant that
# no longer applies (its text is gone) or does not build is an error
# (exit 2): update it to the code's new shape.
#
# Add every future GPU-side bug that a test missed here, with the test that
# now catches it.
#
#   --sample N  run N mutants, chosen by the UTC date (day number modulo
#               the list: N consecutive entries from there), so that each
#               day's CI run covers others; the choice is printed, and
#               --only reproduces one. Default: all.
#   --only NAME run that mutant only.
#   --list      print the mutants' names and exit.
#   --applies   check that every mutant's text is still in its file (no
#               build, no test: a second) and exit; CI runs it so that a
#               change of the code's shape fails at once, not on the day
#               the sample reaches the mutant it broke.
#   SIMDIR      a built simulator (scripts/cudasim/build.sh DIR); default:
#               built into a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

# name | file | text to replace (first occurrence) | replacement | package | tests (-run)
# In the two texts, \n and \t stand for a newline and a tab.
mutants=(
	# The five of issue 24, which every GPU test passed before it.
	"grid-stride|gpu/kernels/elementwise.cu|DR_GRID_STRIDE(i, n) {\n\t\tfloat v = alpha * dr_ld(x, tx, i);|int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) {\n\t\tfloat v = alpha * dr_ld(x, tx, i);|./gpu|TestConformanceGridOne|TestElementwiseAtScale/AddTensor"
	"staging-wrap-no-sync|gpu/copy.go|\tif s.used+n > s.size {\n\t\tif err := cuCheck(\"cuStreamSynchronize\", C.dr_cuStreamSynchronize(b.stream)); err != nil {\n\t\t\treturn nil, err\n\t\t}\n|\tif s.used+n > s.size {\n|./gpu|TestStagingWrap"
	"relu-swallows-nan|cudnn/cudnn_calls.h|DR_CUDNN_PROPAGATE_NAN, 0.0|DR_CUDNN_NOT_PROPAGATE_NAN, 0.0|./gpu|TestConformanceFP32/NaN"
	"lr-frozen|train/graphstep.go|p.LR, p.LRTensor = 0, gs.lr|p.LR, p.LRTensor = sgd.LR, nil|./gpu|TestGraphStepFollowsRateAndMasks"
	"cudnn-legacy-stream|gpu/backend.go|cudnn.NewHandle(unsafe.Pointer(b.stream), math)|cudnn.NewHandle(unsafe.Pointer(nil), math)|./gpu|TestConformanceFP32/ConvForward"
	# The others of the review behind issue 24.
	"beta-ignored|gpu/kernels/elementwise.cu|dr_st(y, ty, i, beta == 0.0f ? v : v + beta * dr_ld(y, ty, i));|dr_st(y, ty, i, v);|./gpu|TestConformanceFP32/AddTensor"
	"bn-momentum-inverted|gpu/batchnorm.go|p.Momentum, p.Eps)|1-p.Momentum, p.Eps)|./gpu|TestConformanceFP32/BatchNormForwardTraining"
	"softmax-without-max|gpu/kernels/loss.cu|double sum = 0.0;|m = 0.0f; double sum = 0.0;|./gpu|TestConformanceFP32/SoftmaxCrossEntropy"
	"staging-offset-not-advanced|gpu/copy.go|s.used += (n + 255) &^ 255 // keep chunks aligned|// offset not advanced|./gpu|TestStagingWrap"
	"off-by-one-bounds|gpu/kernels/common.cuh|i < (n); i +=|i <= (n); i +=|./gpu|TestConformanceFP32/AddTensor"
	"backward-filter-accumulates|cudnn/conv.go|C.size_t(work.Size), 0, p.wd, C.dr_dptr(dw)|C.size_t(work.Size), 1, p.wd, C.dr_dptr(dw)|./gpu|TestConformanceFP32/ConvBackwardFilter"
	"wrong-workspace|cudnn/conv.go|C.dr_dptr(work.Ptr), C.size_t(work.Size), 0, p.yd, C.dr_dptr(y)|C.dr_dptr(y), C.size_t(work.Size), 0, p.yd, C.dr_dptr(y)|./gpu|TestConformanceFP32/ConvForward"
	"dropped-unit-gradient|models/step.go|u.BackwardBranched(target, cur, add, func() { net.zeroUnit(i) })|u.BackwardBranched(target, cur, add, func() {})|./gpu|TestGraphStepFollowsRateAndMasks/sd"
	"mask-after-launch|train/graphstep.go|\tif gs.mask != nil {\n\t\tt.Net.MaskInto(gs.maskHost[t.pending])\n\t\tb.CopyIn(gs.mask, gs.maskHost[t.pending])\n\t}\n\tgs.g.Launch()\n|\tgs.g.Launch()\n\tif gs.mask != nil {\n\t\tt.Net.MaskInto(gs.maskHost[t.pending])\n\t\tb.CopyIn(gs.mask, gs.maskHost[t.pending])\n\t}\n|./gpu|TestGraphStepFollowsRateAndMasks/sd"
	"cublas-legacy-stream|gpu/blas.go|C.dr_cublasSetStream(b.blas, b.stream)|C.dr_cublasSetStream(b.blas, nil)|./gpu|TestConformanceFP32/LinearForward"
	# Issue 21: what NVIDIA's real software showed and the simulator then learnt.
	"no-cublas-workspace|gpu/blas.go|if err := blasCheck(\"cublasSetWorkspace_v2\", C.dr_cublasSetWorkspace(b.blas, C.ulonglong(p), C.size_t(n))); err != nil {|if err := error(nil); p == 0 && err != nil {|./gpu|TestCapturedGEMMInPieces"
	"arch-not-capped|gpu/arch.go|func contains(s []int, v int) bool {|func contains(s []int, v int) bool {\n\treturn true|./gpu|TestChooseTarget|TestDeviceNewerThanNVRTC"
	# Issue 22: channels-last on the GPU.
	"dropout-mask-storage-order|gpu/kernels/elementwise.cu|long long i = dr_logical(j, nhwc, c, hw);|long long i = j;|./gpu|TestConformanceNHWC/float32_mixedfalse/DropoutMask"
	"bn-stats-nchw-index|gpu/kernels/reduce_bn.cu|dr_ld(x, tx, dr_at(b, ch, k, nhwc, c, inner))|dr_ld(x, tx, dr_at(b, ch, k, 0, c, inner))|./gpu|TestConformanceNHWC/float32_mixedfalse/BatchNormAddReLUForwardTraining"
	"conv-descriptor-nchw|gpu/conv.go|Type: dnnType(t.dtype), Layout: t.dnnLayout()}|Type: dnnType(t.dtype)}|./gpu|TestConformanceNHWC/bfloat16_mixedfalse/ConvForward"
	"conversion-scratch-released|gpu/layout.go|\t\tk++\n|\t\tk++\n\t\tdefer b.mem.put(b.slots[k-1].ptr)\n\t\tb.slots[k-1] = convSlot{}\n|./gpu|TestConversionScratchSurvivesCapture"
	# A type conversion's float32 scratch handed back to the allocator, as it was before the slots.
	"type-scratch-released|gpu/activation.go|\ts, err := b.slot(typeSlots+k, int64(n)*4)\n\tif err != nil {\n\t\treturn 0, err\n\t}\n|\ts, err := b.mem.get(int64(n) * 4)\n\tif err != nil {\n\t\treturn 0, err\n\t}\n\tdefer b.mem.put(s)\n|./gpu|TestConversionScratchSurvivesCapture/types"
)

sample=0 only="" sim="" applies=0
while [ $# -gt 0 ]; do
	case $1 in
	--sample) sample=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--list)
		for m in "${mutants[@]}"; do echo "${m%%|*}"; done
		exit 0 ;;
	--applies) applies=1; shift ;;
	-*) echo "mutants.sh: unknown option $1" >&2; exit 2 ;;
	*) sim=$1; shift ;;
	esac
done

# field M I: field I of mutant M (the sixth, the tests, may hold '|').
field() {
	local IFS='|'
	local -a f
	read -r -a f <<<"$1"
	if [ "$2" = 6 ]; then
		printf '%s' "${f[*]:5}"
	else
		printf '%s' "${f[$2 - 1]}"
	fi
}

# plant M FILE: makes mutant M's change in FILE; with FILE -, only checks
# that the text to replace is in the mutant's file of this tree.
plant() {
	local target=$2 dry=""
	[ "$target" = - ] && target=$root/$(field "$1" 2) dry=1
	OLD=$(field "$1" 3) NEW=$(field "$1" 4) DRY=$dry python3 - "$target" <<'EOF'
import os, sys
p = sys.argv[1]
s = open(p).read()
old, new = (os.environ[k].replace("\\n", "\n").replace("\\t", "\t") for k in ("OLD", "NEW"))
if old not in s:
    sys.exit("the text to replace is gone")
if not os.environ.get("DRY"):
    open(p, "w").write(s.replace(old, new, 1))
EOF
}

if [ "$applies" = 1 ]; then
	bad=0
	for m in "${mutants[@]}"; do
		plant "$m" - 2>/dev/null || { echo "mutants.sh: $(field "$m" 1) does not apply to $(field "$m" 2): update it to the code's new shape" >&2; bad=1; }
	done
	[ "$bad" = 0 ] || exit 2
	echo "mutants.sh: all ${#mutants[@]} mutants apply"
	exit 0
fi

chosen=()
if [ -n "$only" ]; then
	for m in "${mutants[@]}"; do [ "${m%%|*}" = "$only" ] && chosen+=("$m"); done
	[ ${#chosen[@]} -eq 1 ] || { echo "mutants.sh: no mutant $only (--list)" >&2; exit 2; }
elif [ "$sample" -gt 0 ]; then
	day=$(($(date -u +%s) / 86400))
	for ((i = 0; i < sample && i < ${#mutants[@]}; i++)); do
		chosen+=("${mutants[$(((day + i) % ${#mutants[@]}))]}")
	done
else
	chosen=("${mutants[@]}")
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$sim" ]; then
	sim=$tmp/sim
	bash scripts/cudasim/build.sh "$sim" >/dev/null
fi
sim=$(cd "$sim" && pwd)
# One scratch copy for all: restored file by file, so that the build cache
# serves every package a mutant does not touch.
copy=$tmp/tree
mkdir -p "$copy"
git ls-files -z -co --exclude-standard | tar --null -T - -cf - | tar -C "$copy" -xf -

survivors=() errors=()
for m in "${chosen[@]}"; do
	name=$(field "$m" 1) file=$(field "$m" 2) pkg=$(field "$m" 5) tests=$(field "$m" 6)
	start=$SECONDS
	if ! plant "$m" "$copy/$file"; then
		errors+=("$name (does not apply to $file)")
		continue
	fi
	bin=$tmp/$name.test
	if ! (cd "$copy" && go test -c -o "$bin" "$pkg" >"$tmp/$name.build" 2>&1); then
		errors+=("$name (does not build: $(head -c 300 "$tmp/$name.build"))")
	elif (cd "$copy/${pkg#./}" && DEEPRES_REQUIRE_GPU=1 DEEPRES_CUDA_LIB_DIR="$sim" \
		"$bin" -test.run "$tests" -test.timeout 300s >"$tmp/$name.log" 2>&1); then
		survivors+=("$name")
		echo "SURVIVED $name ($file; go test -run '$tests' $pkg passed) $((SECONDS - start))s"
	else
		echo "killed   $name in $((SECONDS - start))s by $(grep -m1 -o -- '--- FAIL: [^ ]*' "$tmp/$name.log" || echo 'a failure'):"
		grep -m1 -E '^ +[a-z_]+\.go:[0-9]+: ' "$tmp/$name.log" | cut -c1-300 || true
	fi
	cp "$root/$file" "$copy/$file"
	rm -f "$bin"
done

if [ ${#errors[@]} -gt 0 ]; then
	printf 'mutants.sh: mutant error: %s\n' "${errors[@]}" >&2
	exit 2
fi
if [ ${#survivors[@]} -gt 0 ]; then
	echo "mutants.sh: ${#survivors[@]} of ${#chosen[@]} mutants survived: ${survivors[*]}" >&2
	exit 1
fi
echo "mutants.sh: all ${#chosen[@]} mutants killed"
