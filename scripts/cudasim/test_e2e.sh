#!/usr/bin/env bash
# test_e2e.sh SIMDIR: deepres end to end on the NVIDIA-library simulator, on
# real CIFAR-10 images: `train --device cuda` (stochastic depth, its steps
# captured as CUDA graphs) matches the CPU run's losses
# within float32 tolerance, a run interrupted with SIGINT and continued with
# --resume ends exactly where the uninterrupted run ends, and `eval` of its
# checkpoint agrees with the CPU. Data: $DEEPRES_DATA (a folder holding
# cifar10-train.tar.gz and cifar10-test.tar.gz), else the project's CI layout
# beside the repository; a subset is extracted (20 training and 10 test images
# per class) so that the simulated GPU, which is slow, finishes in seconds.
# DEEPRES names the deepres binary (default: built here). Without data it
# skips, or fails when CI=true.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
sim=$(cd "${1:?usage: scripts/cudasim/test_e2e.sh SIMDIR (built by scripts/cudasim/build.sh)}" && pwd)
[[ -f $sim/libcuda.so.1 ]] || { echo "test_e2e.sh: no simulator in $sim: run scripts/cudasim/build.sh $sim" >&2; exit 2; }
data=${DEEPRES_DATA:-$root/../shared/data/cifar10-jpeg}
if [[ ! -f $data/cifar10-train.tar.gz || ! -f $data/cifar10-test.tar.gz ]]; then
	msg="no CIFAR-10 JPEG archives in $data; set DEEPRES_DATA to the folder holding cifar10-train.tar.gz and cifar10-test.tar.gz"
	if [[ ${CI:-} == true ]]; then echo "test_e2e.sh: FAIL: $msg" >&2; exit 1; fi
	echo "test_e2e.sh: SKIP: $msg" >&2
	exit 0
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
DEEPRES=${DEEPRES:-}
if [[ -z $DEEPRES ]]; then
	(cd "$root" && go build -o "$W/deepres" ./cmd/deepres)
	DEEPRES=$W/deepres
fi
mkdir -p "$W/data"
tar -xzf "$data/cifar10-train.tar.gz" -C "$W/data" --wildcards 'train/*/00[01]?.jpg'
tar -xzf "$data/cifar10-test.tar.gz" -C "$W/data" --wildcards 'test/*/000?.jpg'

fail() { echo "test_e2e.sh: FAIL: $*" >&2; exit 1; }
gpu() { DEEPRES_CUDA_LIB_DIR=$sim "$@"; }
# Stochastic depth on: the simulated GPU captures its steps with conditional
# nodes (--cuda-graphs auto), the CPU runs them eagerly, with the same masks.
train=(train --model resnet-8 --sd linear:0.5 --dataset folder --data "$W/data" --epochs 3 --batch-size 50 --lr 0.05 --math fp32)

# 1. The same run on the CPU and on the simulated GPU: per-epoch losses agree.
"$DEEPRES" "${train[@]}" --device cpu --out "$W/cpu" 2>"$W/cpu.log" || fail "CPU run: $(tail -n 3 "$W/cpu.log")"
gpu "$DEEPRES" "${train[@]}" --device cuda --out "$W/gpu" 2>"$W/gpu.log" || fail "simulated GPU run: $(tail -n 3 "$W/gpu.log")"
grep -q 'cudasim (CPU simulator)' "$W/gpu.log" || fail "the GPU run did not say it ran on the simulator: $(head -n 3 "$W/gpu.log")"
grep -q 'CUDA graphs: one launch per step' "$W/gpu.log" || fail "the GPU run did not capture its steps: $(grep -i graph "$W/gpu.log")"
losses() { grep -o '"\(train\|test\)_loss":[-0-9.e]*' "$1/metrics.jsonl" | cut -d: -f2; }
paste <(losses "$W/cpu") <(losses "$W/gpu") >"$W/losses"
[[ $(wc -l <"$W/losses") == 6 ]] || fail "want 3 epochs of train and test loss on both sides, got: $(cat "$W/losses")"
awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 2e-3 * ($1 < 0 ? -$1 : $1) + 1e-5) { print "loss " $1 " (CPU) vs " $2 " (GPU)"; bad = 1 } } END { exit bad }' "$W/losses" >"$W/diff" ||
	fail "simulated GPU and CPU losses differ beyond float32 tolerance: $(cat "$W/diff")"
echo "test_e2e.sh: losses CPU vs simulated GPU (train, test per epoch): $(tr '\t\n' ' ;' <"$W/losses")"

# 2. Interrupted after its first epoch (SIGINT: checkpoint, exit 75), resumed: the
# same weights as the uninterrupted run.
DEEPRES_CUDA_LIB_DIR=$sim "$DEEPRES" "${train[@]}" --device cuda --out "$W/int" 2>"$W/int.log" &
pid=$! # deepres itself, not a subshell, so that it gets the signal
for _ in $(seq 600); do
	grep -q '"epoch":1' "$W/int/metrics.jsonl" 2>/dev/null && break
	sleep 0.1
done
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
[[ $rc == 75 ]] || fail "SIGINT: exit $rc, want 75: $(tail -n 3 "$W/int.log")"
gpu "$DEEPRES" train --resume "$W/int" --device cuda 2>"$W/resume.log" || fail "resume: $(tail -n 3 "$W/resume.log")"
evaljson() { "$DEEPRES" eval --checkpoint "$1/last.safetensors" --dataset folder --data "$W/data" --device "$2" --math fp32 --json; }
a=$(gpu evaljson "$W/gpu" cuda) b=$(gpu evaljson "$W/int" cuda)
[[ $a == "$b" ]] || fail "interrupted and resumed run ends at $b, the uninterrupted one at $a"

# 3. eval of the GPU run's checkpoint: the simulated GPU and the CPU agree.
c=$(evaljson "$W/gpu" cpu)
lg=$(sed 's/.*"loss":\([^,}]*\).*/\1/' <<<"$a") lc=$(sed 's/.*"loss":\([^,}]*\).*/\1/' <<<"$c")
awk -v g="$lg" -v c="$lc" 'BEGIN { d = g - c; if (d < 0) d = -d; exit !(d <= 1e-4 * (c < 0 ? -c : c) + 1e-6) }' ||
	fail "eval of the GPU checkpoint: loss $lg on the simulated GPU, $lc on the CPU"
echo "test_e2e.sh: PASS (resumed run identical to the uninterrupted one: $a; CPU eval of it: $c)"
