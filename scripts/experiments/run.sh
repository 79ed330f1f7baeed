#!/usr/bin/env bash
# Runs one study of the papers' experiments with deepres, then writes the
# report (deepres report) with its plots.
#
#   scripts/experiments/run.sh STUDY [--seeds N] [--epochs E] [--device D]
#                              [--quick | --small] [--dataset D] [--data DIR] [--out RESULTS_DIR]
#                              [--devices 0,1,.. | all | cpu:N]
#                              [--slurm [--partition P] [--time T] [--gpus-per-run 0|1]
#                                       [--sbatch-arg ARG]... [--dry-run]]
#
# STUDY: table1 (He et al. 2016 Table 1: shortcut variants on ResNet-110),
#        table2 (He et al. 2016 Table 2: unit variants on ResNet-110/164),
#        sd     (Huang et al. 2016: stochastic depth, Fig. 7 and the Fig. 8 grid),
#        ror    (Zhang et al. 2016 Tables V, VI, XI: RoR).
# Each row and seed trains into RESULTS_DIR/<study>/<row-slug>/seed-<k>/ with a
# row.json next to metrics.jsonl and train.log. Finished runs are skipped, failed
# ones too (remove their 'failed' file to retry); interrupted ones (last.safetensors
# present, not finished) continue with deepres train --resume.
# Every row uses the recipe of its published number (--preset he2016, sd2016
# or ror2016); --epochs E shortens it (step schedule /10 at 50% and 75%).
# --quick swaps every model for a tiny one, trains 4 steps of batch 8 on the
# CPU on a generated 10-class image folder: a smoke test of the whole pipeline.
# --small swaps the models the same way but trains on the real --dataset/--data
# for --epochs: a study that a CPU finishes in minutes, e.g. on a subset of the
# CIFAR-10 JPEG folders (--dataset folder --data DIR).
# --devices runs one row-seed per device at a time (--device cuda:K each; 'all':
# every GPU deepres devices lists; cpu:N: N CPU runs at once) with a status line
# per device. Ctrl-C or SIGTERM stops every run at a checkpoint; run the same
# command again to resume. Exit status: 0 all done, 1 some run failed,
# 75 interrupted (rerun to resume), 2 bad command line.
# --slurm submits one Slurm job array instead, a task per unfinished row-seed
# (--requeue; warned 120 s before the time limit, a task requeues itself),
# and prints the job id and the command that writes the report; --dry-run
# prints the batch script. See docs/cluster.md.
# DEEPRES names the deepres binary (default: deepres on PATH).
set -euo pipefail

DEEPRES=${DEEPRES:-deepres}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

usage() {
	sed -n '2,37p' "$0" | sed 's/^# \{0,1\}//' >&2
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
DEVICES="" SLURM=0 PARTITION="" TIME="" GPUS_PER_RUN="" SBATCH_ARGS=() DRY_RUN=0 TASK="" typed=()
while [[ $# -gt 0 ]]; do
	case $1 in
	--devices | --partition | --time | --gpus-per-run | --sbatch-arg | --task | --seeds | --epochs | --device | --dataset | --data | --out)
		[[ $# -ge 2 ]] || { echo "run.sh: $1 needs a value" >&2; exit 2; } ;;
	esac
	typed+=("$1") # the flags the user gave, for check_flags
	case $1 in
	--devices) DEVICES=$2; shift 2 ;;
	--slurm) SLURM=1; shift ;;
	--partition) PARTITION=$2; shift 2 ;;
	--time) TIME=$2; shift 2 ;;
	--gpus-per-run) GPUS_PER_RUN=$2; shift 2 ;;
	--sbatch-arg) SBATCH_ARGS+=("$2"); shift 2 ;;
	--dry-run) DRY_RUN=1; shift ;;
	--task) TASK=$2; shift 2 ;; # internal: the row-seed of one Slurm array task
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
source "$here/local.sh"
source "$here/slurm.sh"
check_flags

# ---- the rows: row STUDY "NAME" PAPER_ERROR MODEL [TRAIN FLAGS...] ----
# PAPER_ERROR: the published CIFAR-10 test error (%), "fail" (> 20%) or
# "null" (none published); cmd/deepres/paper.go holds the same numbers with
# their sources (report_test.go checks they agree). Each row names its recipe
# (--preset): the one its published number was trained with. sd2016 and
# ror2016 hold out 5k validation images and the report gives the test error
# at the best validation epoch (Huang et al.'s protocol).
names=() papers=() models=() flags=()
row() {
	local study=$1 name=$2 paper=$3 model=$4
	shift 4
	[[ $study == "$STUDY" ]] || return 0
	names+=("$name") papers+=("$paper") models+=("$model") flags+=("$*")
}

row table1 "original" 6.61 resnet-110 --shortcut A --preset he2016
row table1 "constant 0,1" fail resnet-110 --shortcut constant:0,1 --preset he2016
row table1 "constant 0.5,1" fail resnet-110 --shortcut constant:0.5,1 --preset he2016
row table1 "constant 0.5,0.5" 12.35 resnet-110 --shortcut constant:0.5,0.5 --preset he2016
row table1 "exclusive bg=0" fail resnet-110 --shortcut exclusive:0 --preset he2016
row table1 "exclusive bg=-6" 8.70 resnet-110 --shortcut exclusive:-6 --preset he2016
row table1 "exclusive bg=-7" 9.81 resnet-110 --shortcut exclusive:-7 --preset he2016
row table1 "shortcut-only bg=0" 12.86 resnet-110 --shortcut shortcut-only:0 --preset he2016
row table1 "shortcut-only bg=-6" 6.91 resnet-110 --shortcut shortcut-only:-6 --preset he2016
row table1 "conv" 12.22 resnet-110 --shortcut conv --preset he2016
row table1 "dropout" fail resnet-110 --shortcut dropout --preset he2016

row table2 "resnet-110 original" 6.61 resnet-110 --unit original --preset he2016
row table2 "resnet-110 bn-after-add" 8.17 resnet-110 --unit bn-after-add --preset he2016
row table2 "resnet-110 relu-before-add" 7.84 resnet-110 --unit relu-before-add --preset he2016
row table2 "resnet-110 relu-only-preact" 6.71 resnet-110 --unit relu-only-preact --preset he2016
row table2 "resnet-110 full-preact" 6.37 resnet-110 --unit full-preact --preset he2016
row table2 "resnet-164 original" 5.93 resnet-164 --unit original --preset he2016
row table2 "resnet-164 bn-after-add" 6.50 resnet-164 --unit bn-after-add --preset he2016
row table2 "resnet-164 relu-before-add" 6.14 resnet-164 --unit relu-before-add --preset he2016
row table2 "resnet-164 relu-only-preact" 5.91 resnet-164 --unit relu-only-preact --preset he2016
row table2 "resnet-164 full-preact" 5.46 resnet-164 --unit full-preact --preset he2016
row table2 "resnet-1001 full-preact" 4.92 preact-resnet-1001 --preset he2016

row sd "resnet-110" 6.41 resnet-110 --sd off --preset sd2016
row sd "resnet-110 sd linear:0.5" 5.23 resnet-110 --sd linear:0.5 --preset sd2016
row sd "resnet-1202 sd linear:0.5" 4.91 resnet-1202 --sd linear:0.5 --preset sd2016
for rule in uniform linear; do
	for depth in 20 56 110; do
		for pl in 0.2 0.5 0.8; do
			row sd "sdgrid depth=$depth pL=$pl rule=$rule" null "resnet-$depth" --sd "$rule:$pl" --preset sd2016
		done
	done
done

# Tables V and VI ("500 Epoch"): Zhang et al.'s recipe on every row.
row ror "preact-resnet-164" 5.04 preact-resnet-164 --preset ror2016
row ror "preact-resnet-164 ror-3" 5.02 preact-resnet-164 --ror 3 --preset ror2016
row ror "preact-resnet-164 sd" 4.67 preact-resnet-164 --sd linear:0.5 --preset ror2016
row ror "preact-resnet-164 ror-3 sd" 4.51 preact-resnet-164 --ror 3 --sd linear:0.5 --preset ror2016
row ror "wrn-40-2" 4.81 wrn-40-2 --preset ror2016
row ror "wrn-40-2 ror-3" 5.01 wrn-40-2 --ror 3 --preset ror2016
row ror "wrn-40-2 sd" 4.80 wrn-40-2 --sd linear:0.5 --preset ror2016
row ror "wrn-40-2 ror-3 sd" 4.59 wrn-40-2 --ror 3 --sd linear:0.5 --preset ror2016
# Table XI: ResNets-164's 5.93 is He et al.'s, trained on He's recipe; RoR-3-164's
# 4.86 is the +SD result (Table XI's RoR entries are the "+SD" cells of Tables V, VI).
row ror "resnet-164 (he2016)" 5.93 resnet-164 --preset he2016
row ror "resnet-164 ror-2" null resnet-164 --ror 2 --preset ror2016
row ror "resnet-164 ror-3 sd" 4.86 resnet-164 --ror 3 --sd linear:0.5 --preset ror2016

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
	common=(--dataset folder --data "$DATA" --steps 4 --batch-size 8 --val-split 0)
else
	common=(--dataset "$DATASET" --data "${DATA:-data}")
	[[ $SMALL == 1 ]] && common+=(--val-split 0) # a CPU-sized subset has no 5k to spare
	if [[ -n $EPOCHS ]]; then
		common+=(--epochs "$EPOCHS" --lr-schedule step:0.5,0.75)
		final_epoch=$EPOCHS
	else
		case $STUDY in
		table1 | table2) final_epoch=164 ;; # 64k iterations of 391 per epoch
		sd) final_epoch=500 ;;
		ror) final_epoch="" ;; # he2016 and ror2016 rows: finished runs are marked done
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

# ---- the row-seeds: task t trains row ${task_row[t]} with seed ${task_seed[t]} ----
task_row=() task_seed=()
for i in "${!names[@]}"; do
	for ((k = 0; k < SEEDS; k++)); do
		task_row+=("$i") task_seed+=("$k")
	done
done

locate() { # locate T: sets i, k, name, model, extra and run for task T
	i=${task_row[$1]} k=${task_seed[$1]}
	name=${names[$i]} model=${models[$i]}
	read -r -a extra <<<"${flags[$i]}"
	if [[ $QUICK == 1 || $SMALL == 1 ]]; then
		model=$(tiny "$model")
		name="$name (as $model)" # the report must not pass a tiny net off as the paper's
	fi
	run=$OUT/$STUDY/$(slug "$name")/seed-$k
}

# prepare T DEVICE: sets the task's run folder and the deepres command that
# trains or resumes it on DEVICE, and writes its row.json. Returns 1 if the
# run is finished, 2 if it failed before (both: leave it alone).
prepare() {
	locate "$1"
	local dev=$2
	finished "$run" && return 1
	if [[ -f $run/failed ]]; then
		echo "run.sh: $run failed before ($(cat "$run/failed")); remove $run/failed to retry" >&2
		return 2
	fi
	mkdir -p "$run"
	args=(--model "$model" "${extra[@]}" "${common[@]}" --device "$dev" --seed "$k")
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
		cmd=("$DEEPRES" train --resume "$run" --device "$dev")
		[[ -n $DATA ]] && cmd+=(--data "$DATA")
	else
		# A run that left no last.safetensors starts over: --overwrite drops
		# its metrics and any best.safetensors (deepres refuses them otherwise).
		cmd=("$DEEPRES" train "${args[@]}" --out "$run" --overwrite)
	fi
	return 0
}

# settle T STATUS: records how deepres ended for task T (0: done; 75: stopped
# at a checkpoint, resumable; anything else: failed, not retried).
settle() {
	locate "$1"
	case $2 in
	0) touch "$run/done" ;;
	75) ;;
	*) tail -n 1 "$run/train.log" >"$run/failed" ;;
	esac
}

write_report() {
	"$DEEPRES" report "$OUT" -o "$OUT/$STUDY-report.md"
}

if [[ -n $TASK ]]; then
	run_task "$TASK" # one row-seed, as a Slurm array task (slurm.sh)
elif [[ $SLURM == 1 ]]; then
	submit_slurm # slurm.sh
else
	run_local # local.sh
fi
