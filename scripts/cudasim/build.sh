#!/usr/bin/env bash
# build.sh DIR: builds the NVIDIA-library simulator (internal/cudasim) into
# DIR and writes nothing else anywhere. Each library folder under
# internal/cudasim becomes one shared library under NVIDIA's soname; the
# others link against DIR/libcuda.so.1 (the core, cudasim.h) with rpath
# $ORIGIN, so DIR is self-contained: DEEPRES_CUDA_LIB_DIR=DIR. See
# internal/cudasim/README.md.
set -euo pipefail
if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
out=$1
src=$(cd "$(dirname "$0")/../../internal/cudasim" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
CC=${CC:-gcc}

# The folder each soname is built from, in link order (the core first; cublas
# after cublaslt, which it needs as the real libcublas.so.13 does).
libs=(
	"cuda:libcuda.so.1"
	"cublaslt:libcublasLt.so.13"
	"cublas:libcublas.so.13"
	"nvrtc:libnvrtc.so.13"
	"cudnn:libcudnn.so.9"
)

# Every folder with sources must be known here, so that a new one is not
# silently left out.
for d in "$src"/*/; do
	name=$(basename "$d")
	[ "$name" = testdata ] && continue # the tests' own C programs
	known=0
	for l in "${libs[@]}"; do
		[ "${l%%:*}" = "$name" ] && known=1
	done
	if [ $known = 0 ] && compgen -G "$d*.c*" >/dev/null; then
		echo "build.sh: internal/cudasim/$name has sources but no soname in build.sh" >&2
		exit 1
	fi
done

# -U_FORTIFY_SOURCE: the core leaves a faulting kernel with siglongjmp from
# a signal stack, which glibc's fortified longjmp check would refuse.
flags=(-shared -fPIC -O2 -g -Wall -Wextra -Wno-unused-parameter -fvisibility=hidden
	-D_GNU_SOURCE -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=0 -I "$src" -Wl,--no-undefined -Wl,-rpath,'$ORIGIN')
for l in "${libs[@]}"; do
	dir=${l%%:*} soname=${l#*:}
	shopt -s nullglob
	files=("$src/$dir"/*.c "$src/$dir"/*.cc)
	shopt -u nullglob
	if [ ${#files[@]} -eq 0 ]; then
		echo "build.sh: internal/cudasim/$dir has no sources yet: $soname not built" >&2
		continue
	fi
	deps=()
	case $dir in
	cuda) ;;
	cublas) deps=("$out/libcublasLt.so.13" "$out/libcuda.so.1") ;;
	*) deps=("$out/libcuda.so.1") ;;
	esac
	# gcc compiles .cc files as C++; -lstdc++ for those.
	"$CC" "${flags[@]}" -Wl,-soname,"$soname" -o "$out/$soname.tmp" "${files[@]}" "${deps[@]}" \
		-lstdc++ -lm -lpthread -ldl
	mv "$out/$soname.tmp" "$out/$soname"
done
