#!/usr/bin/env bash
# fetch.sh STACK [DIR]: installs one pinned stack of NVIDIA's wheels from PyPI
# into DIR as a `pip install --target` layout (DIR/nvidia/<pkg>/{include,lib};
# CUDA 13's wheels share DIR/nvidia/cu13). No GPU needed. Prints DIR.
#
#   STACK cu12   scripts/nvidia/cu12.txt (CUDA 12.8, cuBLAS 12, cuDNN 9 for CUDA 12)
#   STACK cu13   scripts/nvidia/cu13.txt (CUDA 13.5, cuBLAS 13, cuDNN 9 for CUDA 13, NCCL)
#   STACK mixed  cuDNN for CUDA 12 beside cuBLAS 13 only, made of symlinks into
#                the cu12 and cu13 stacks (fetched first): no download.
#
# Every wheel is pinned by version and sha256 (pip --require-hashes). Wheels
# are kept in $DEEPRES_NVIDIA_CACHE/wheels and DIR holds a stamp with the
# sha256 of the requirements file, so a second run with the same file does
# nothing (seconds) and a changed file reinstalls. DIR defaults to
# ${DEEPRES_NVIDIA_CACHE:-$HOME/.cache/deepres/nvidia}/STACK.
set -euo pipefail
# --target installs into DIR alone, never into the system's site-packages, so
# a distribution's "externally managed" marker (PEP 668) does not apply.
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_BREAK_SYSTEM_PACKAGES=1
here=$(cd "$(dirname "$0")" && pwd)
cache=${DEEPRES_NVIDIA_CACHE:-$HOME/.cache/deepres/nvidia}
stack=${1:?usage: fetch.sh cu12|cu13|mixed [DIR]}
dir=${2:-$cache/$stack}

if [ "$stack" = mixed ]; then
	cu12=$("$0" cu12)
	cu13=$("$0" cu13)
	rm -rf "$dir"
	mkdir -p "$dir/nvidia/cu13/lib"
	ln -s "$cu12/nvidia/cudnn" "$dir/nvidia/cudnn"
	for f in libcublas.so.13 libcublasLt.so.13; do
		ln -s "$cu13/nvidia/cu13/lib/$f" "$dir/nvidia/cu13/lib/$f"
	done
	echo "$dir"
	exit 0
fi

req=$here/$stack.txt
if [ ! -f "$req" ]; then
	echo "fetch.sh: no stack $stack ($req)" >&2
	exit 2
fi
want=$(sha256sum "$req" | cut -d' ' -f1)
stamp=$dir/.deepres-stack
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	echo "$dir"
	exit 0
fi

# Download (or reuse) the pinned wheels, then install from them alone.
wheels=$cache/wheels
mkdir -p "$wheels"
python3 -m pip download -q --no-deps --require-hashes -d "$wheels" -r "$req" >&2
rm -rf "$dir.tmp" "$dir"
python3 -m pip install -q --no-deps --require-hashes --no-index --find-links "$wheels" \
	--target "$dir.tmp" -r "$req" >&2
echo "$want" >"$dir.tmp/.deepres-stack"
mv "$dir.tmp" "$dir"
echo "$dir"
