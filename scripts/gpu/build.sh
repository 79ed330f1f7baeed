#!/usr/bin/env bash
# build.sh: on a build machine (no GPU needed), builds what check.sh runs on
# a GPU machine that has no Go: the deepres command and the GPU test
# binaries, into .gpu/ (git-ignored). Plain gcc; no CUDA SDK.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export CGO_ENABLED=1
mkdir -p .gpu
if compgen -G "cmd/deepres/*.go" >/dev/null; then
	go build -trimpath -ldflags="-s -w" -o .gpu/deepres ./cmd/deepres
	echo "build.sh: .gpu/deepres"
else
	rm -f .gpu/deepres
	echo "build.sh: cmd/deepres does not exist yet; no deepres binary (check.sh skips devices and training)"
fi
for pkg in gpu cudnn internal/dl; do
	out=.gpu/$(basename "$pkg").test
	go test -c -trimpath -ldflags="-s -w" -o "$out" "./$pkg"
	echo "build.sh: $out"
done
# The real CIFAR-10 JPEGs for check.sh's training run, from $DEEPRES_DATA (a
# folder holding cifar10-train.tar.gz and cifar10-test.tar.gz) or the project's
# CI layout beside the repository: the GPU machine gets the repository (and
# what `carry` names, e.g. .gpu/) but nothing beside it.
data=${DEEPRES_DATA:-../shared/data/cifar10-jpeg}
if [ -f "$data/cifar10-test.tar.gz" ]; then
	mkdir -p .gpu/data
	cp "$data"/cifar10-*.tar.gz .gpu/data/
	echo "build.sh: .gpu/data (CIFAR-10 JPEG archives, $(du -sh .gpu/data | cut -f1))"
else
	echo "build.sh: no CIFAR-10 JPEG archives at $data (set DEEPRES_DATA); check.sh will skip its training run"
fi
