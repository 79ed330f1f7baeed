#!/usr/bin/env bash
# Runs one study of the papers' experiments with deepres, then writes the
# report (deepres report) with its plots.
#
#   scripts/experiments/run.sh STUDY [--seeds N] [--epochs E] [--device D]
#                              [--quick | --small] [--dataset D] [--data DIR] [--out RESULTS_DIR]
#
# STUDY: table1 (He et al. 2016 Table 1: shortcut variants on ResNet-110),
#        table2 (He et al. 2016 Table 2: unit variants on ResNet-110/164),
#        sd     (Huang et al. 2016: stochastic depth, Fig. 7 and the Fig. 8 grid),
#        ror    (Zhang et al. 2016 Tables V, VI, XI: RoR).
# Each row and seed trains into RESULTS_DIR/<study>/<row-slug>/seed-<k>/ with a
# row.json next to metrics.jsonl. Finished runs are skipped; interrupted ones
# (last.safetensors present, not finished) continue with deepres train --resume.
# Without --epochs every row uses its paper's recipe (--preset he2016, sd2016
# or ror2016); --epochs E shortens it (step schedule /10 at 50% and 75%).
# --quick swaps every model for a tiny one, trains 4 steps of batch 8 on the
# CPU on a generated 10-class image folder: a smoke test of the whole pipeline.
# --small swaps the models the same way but trains on the real --dataset/--data
# for --epochs: a study that a CPU finishes in minutes, e.g. on a subset of the
# CIFAR-10 JPEG folders (--dataset folder --data DIR).
# DEEPRES names the deepres binary (default: deepres on PATH).
set -euo pipefail

DEEPRES=${DEEPRES:-deepres}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

usage() {
	sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

[[ $# -ge 1 ]] || usage
STUDY=$1
shift
case $STUDY in table1 | table2 | sd | ror) ;; -h | --help) usage ;; *)
	echo "run.sh: unknown study '$STUDY' (table1, table2, sd, ror)" >&2
	exit 2
	;;
esac
SEEDS=1 EPOCHS="" DEVICE=auto QUICK=0 SMALL=0 DATASET=cifar10 DATA="" OUT=results
while [[ $# -gt 0 ]]; do
	case $1 in
	--seeds) SEEDS=$2; shift 2 ;;
	--epochs) EPOCHS=$2; shift 2 ;;
	--device) DEVICE=$2; shift 2 ;;
	--quick) QUICK=1; shift ;;
	--small) SMALL=1; shift ;;
	--dataset) DATASET=$2; shift 2 ;;
	--data) DATA=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	-h | --help) usage ;;
	*) echo "run.sh: unknown flag '$1'" >&2; exit 2 ;;
	esac
done

# ---- the rows: row STUDY "NAME" PAPER_ERROR MODEL [TRAIN FLAGS...] ----
# PAPER_ERROR: the published CIFAR-10 test error (%), "fail" (> 20%) or
# "null" (none published in the slides); cmd/deepres/paper.go holds the same
# numbers with their sources (report_test.go checks they agree).
names=() papers=() models=() flags=()
row() {
	local study=$1 name=$2 paper=$3 model=$4
	shift 4
	[[ $study == "$STUDY" ]] || return 0
	names+=("$name") papers+=("$paper") models+=("$model") flags+=("$*")
}

row table1 "original" 6.61 resnet-110 --shortcut A
row table1 "constant 0,1" fail resnet-110 --shortcut constant:0,1
row table1 "constant 0.5,1" fail resnet-110 --shortcut constant:0.5,1
row table1 "constant 0.5,0.5" 12.35 resnet-110 --shortcut constant:0.5,0.5
row table1 "exclusive bg=0" fail resnet-110 --shortcut exclusive:0
row table1 "exclusive bg=-6" 8.70 resnet-110 --shortcut exclusive:-6
row table1 "exclusive bg=-7" 9.81 resnet-110 --shortcut exclusive:-7
row table1 "shortcut-only bg=0" 12.86 resnet-110 --shortcut shortcut-only:0
row table1 "shortcut-only bg=-6" 6.91 resnet-110 --shortcut shortcut-only:-6
row table1 "conv" 12.22 resnet-110 --shortcut conv
row table1 "dropout" fail resnet-110 --shortcut dropout

row table2 "resnet-110 original" 6.61 resnet-110 --unit original
row table2 "resnet-110 bn-after-add" 8.17 resnet-110 --unit bn-after-add
row table2 "resnet-110 relu-before-add" 7.84 resnet-110 --unit relu-before-add
row table2 "resnet-110 relu-only-preact" 6.71 resnet-110 --unit relu-only-preact
row table2 "resnet-110 full-preact" 6.37 resnet-110 --unit full-preact
row table2 "resnet-164 original" 5.93 resnet-164 --unit original
row table2 "resnet-164 bn-after-add" 6.50 resnet-164 --unit bn-after-add
row table2 "resnet-164 relu-before-add" 6.14 resnet-164 --unit relu-before-add
row table2 "resnet-164 relu-only-preact" 5.91 resnet-164 --unit relu-only-preact
row table2 "resnet-164 full-preact" 5.46 resnet-164 --unit full-preact

row sd "resnet-110" null resnet-110 --sd off
row sd "resnet-110 sd linear:0.5" 5.23 resnet-110 --sd linear:0.5
row sd "resnet-1202 sd linear:0.5" null resnet-1202 --sd linear:0.5
for rule in uniform linear; do
	for depth in 20 56 110; do
		for pl in 0.2 0.5 0.8; do
			row sd "sdgrid depth=$depth pL=$pl rule=$rule" null "resnet-$depth" --sd "$rule:$pl"
		done
	done
done

row ror "preact-resnet-164" 5.04 preact-resnet-164
row ror "preact-resnet-164 ror-3" 5.02 preact-resnet-164 --ror 3
row ror "preact-resnet-164 sd" 4.67 preact-resnet-164 --sd linear:0.5
row ror "preact-resnet-164 ror-3 sd" 4.51 preact-resnet-164 --ror 3 --sd linear:0.5
row ror "wrn-40-2" 4.81 wrn-40-2
row ror "wrn-40-2 ror-3" 5.01 wrn-40-2 --ror 3
row ror "wrn-40-2 sd" 4.80 wrn-40-2 --sd linear:0.5
row ror "wrn-40-2 ror-3 sd" 4.59 wrn-40-2 --ror 3 --sd linear:0.5
row ror "resnet-164 ror-1" 5.93 resnet-164 --ror 1
row ror "resnet-164 ror-2" null resnet-164 --ror 2
row ror "resnet-164 ror-3" 4.86 resnet-164 --ror 3

# ---- how to train ----
tiny() { # the smallest model of the same family
	case $1 in
	wrn-*) echo "wrn-10-${1##*-}" ;;
	preact-resnet-*) echo preact-resnet-8 ;;
	resnet-*) echo resnet-8 ;;
	*) echo "$1" ;;
	esac
}

common=()
final_epoch="" # the last epoch of a finished run, where it is known
if [[ $QUICK == 1 ]]; then
	if [[ -z $DATA ]]; then
		DATA=$OUT/quick-data
		if [[ ! -d $DATA/train ]]; then
			echo "run.sh: generating a tiny image-folder dataset in $DATA" >&2
			(cd "$repo" && go run ./scripts/experiments/gendata -o "$DATA")
		fi
	fi
	[[ $DEVICE == auto ]] && DEVICE=cpu
	common=(--dataset folder --data "$DATA" --steps 4 --batch-size 8)
else
	common=(--dataset "$DATASET" --data "${DATA:-data}")
	if [[ -n $EPOCHS ]]; then
		common+=(--epochs "$EPOCHS" --lr-schedule step:0.5,0.75)
		final_epoch=$EPOCHS
	else
		case $STUDY in
		table1 | table2) common+=(--preset he2016); final_epoch=164 ;; # 64k iterations of 391 per epoch
		sd) common+=(--preset sd2016); final_epoch=500 ;;
		ror) common+=(--preset ror2016); final_epoch=500 ;;
		esac
	fi
fi

slug() {
	local s=${1,,}
	s=${s// /_} s=${s//:/-} s=${s//=/-} s=${s//,/_} s=${s//(/} s=${s//)/}
	echo "$s"
}

json_str() { # a JSON string of $1 (the rows use no quotes or backslashes)
	printf '"%s"' "${1//\"/\\\"}"
}

finished() { # finished RUN_DIR
	local d=$1
	[[ -f $d/done ]] && return 0
	[[ -n $final_epoch && -s $d/metrics.jsonl ]] || return 1
	local last
	last=$(tail -n 1 "$d/metrics.jsonl" | grep -o '"epoch":[0-9]*' | cut -d: -f2)
	[[ -n $last && $last -ge $final_epoch ]]
}

failed=()
ran=0 skipped=0
for i in "${!names[@]}"; do
	name=${names[$i]} model=${models[$i]}
	read -r -a extra <<<"${flags[$i]}"
	if [[ $QUICK == 1 || $SMALL == 1 ]]; then
		model=$(tiny "$model")
		name="$name (as $model)" # the report must not pass a tiny net off as the paper's
	fi
	for ((k = 0; k < SEEDS; k++)); do
		run=$OUT/$STUDY/$(slug "$name")/seed-$k
		if finished "$run"; then
			skipped=$((skipped + 1))
			continue
		fi
		if [[ -f $run/failed ]]; then
			echo "run.sh: $run failed before ($(cat "$run/failed")); remove $run/failed to retry" >&2
			failed+=("$name seed $k")
			continue
		fi
		mkdir -p "$run"
		args=(--model "$model" "${extra[@]}" "${common[@]}" --device "$DEVICE" --seed "$k")
		{
			printf '{"study":%s,"row":%s,"model":%s,"args":[' "$(json_str "$STUDY")" "$(json_str "$name")" "$(json_str "$model")"
			sep=""
			for a in "${args[@]}"; do
				printf '%s%s' "$sep" "$(json_str "$a")"
				sep=,
			done
			paper=${papers[$i]} note=""
			if [[ $paper == fail ]]; then paper=null note=',"paper_note":"fail"'; fi
			printf '],"paper_error":%s%s,"index":%d,"seed":%d}\n' "$paper" "$note" "$i" "$k"
		} >"$run/row.json"
		if [[ -f $run/last.safetensors ]]; then
			echo "run.sh: resuming $run" >&2
			cmd=("$DEEPRES" train --resume "$run" --device "$DEVICE")
			[[ -n $DATA ]] && cmd+=(--data "$DATA")
		else
			echo "run.sh: $STUDY / $name / seed $k -> $run" >&2
			# A run that left no last.safetensors starts over: --overwrite drops
			# its metrics and any best.safetensors (deepres refuses them otherwise).
			cmd=("$DEEPRES" train "${args[@]}" --out "$run" --overwrite)
		fi
		ran=$((ran + 1))
		if "${cmd[@]}" 2>&1 | tee -a "$run/train.log"; then
			touch "$run/done"
		else
			echo "run.sh: $name seed $k failed; see $run/train.log" >&2
			tail -n 1 "$run/train.log" >"$run/failed"
			failed+=("$name seed $k")
		fi
	done
done

echo "run.sh: $STUDY: $ran run(s) trained, $skipped already finished, ${#failed[@]} failed" >&2
"$DEEPRES" report "$OUT" -o "$OUT/$STUDY-report.md"
for f in "${failed[@]}"; do echo "run.sh: failed: $f" >&2; done
