# Sourced by run.sh: submits a study to Slurm as one job array (one task per
# unfinished row-seed) and runs one such task (run.sh --task T).
#
# Preemption and time limits (Slurm's sbatch, scancel, scontrol and slurm.conf
# manuals):
# - --requeue lets Slurm put a preempted task (or one whose node failed) back
#   in the queue; the task then resumes its run with deepres train --resume.
# - When Slurm preempts, requeues or cancels a task, every process of it gets
#   SIGTERM and, KillWait seconds later (slurm.conf, default 30; GraceTime for
#   preemption), SIGKILL. deepres finishes the step in flight, writes
#   last.safetensors and exits 75; Slurm requeues it (or, for scancel, not).
# - The time limit ends a task the same way but never requeues it, so
#   --signal=B:USR1@120 warns the batch shell alone (this script) 120 s before
#   (up to 60 s earlier, sbatch(1)): it sends SIGTERM to deepres and, once the
#   checkpoint is written, requeues its own task (scontrol requeue). A signal
#   apart from TERM tells the two cases apart: requeueing a task that Slurm is
#   already requeueing would cancel its next start ("Job credential revoked").
# - A failed run exits 1 and is not retried (Slurm requeues on its own only for
#   preemption and node failure); a finished run exits 0.

# check_flags: rejects flags the chosen mode would not use and makes paths
# absolute for Slurm (its tasks may start in another folder).
check_flags() {
	local f
	has() { # has FLAG: the user typed FLAG
		local x
		for x in "${typed[@]}"; do [[ $x == "$1" ]] && return 0; done
		return 1
	}
	bad() { echo "run.sh: $*" >&2; exit 2; }
	if [[ $SLURM == 0 ]]; then
		for f in --partition --time --gpus-per-run --sbatch-arg --dry-run; do
			has "$f" && bad "$f only goes with --slurm"
		done
	fi
	[[ $SLURM == 1 && -n $DEVICES ]] && bad "--devices runs here, --slurm on a cluster: give one of them"
	[[ -n $DEVICES ]] && has --device && bad "give --device (one run at a time) or --devices, not both"
	[[ -n $TASK && ($SLURM == 1 || -n $DEVICES) ]] && bad "--task (a Slurm array task) goes with neither --slurm nor --devices"
	[[ -z $TASK || $TASK =~ ^[0-9]+$ ]] || bad "--task wants a task number, got '$TASK'"
	[[ -z $GPUS_PER_RUN || $GPUS_PER_RUN == 0 || $GPUS_PER_RUN == 1 ]] ||
		bad "--gpus-per-run: deepres trains a run on one GPU; want 0 or 1, got '$GPUS_PER_RUN'"
	if [[ $SLURM == 1 ]]; then
		[[ $QUICK == 1 || $DEVICE == cpu ]] && [[ $GPUS_PER_RUN == 1 ]] &&
			bad "--gpus-per-run 1: this study runs on the CPU (--quick or --device cpu)"
		OUT=$(realpath -m "$OUT")
		[[ -n $DATA || $QUICK == 1 ]] || DATA=data # the default, made absolute
		[[ -z $DATA ]] || DATA=$(realpath -m "$DATA")
	fi
	return 0
}

# batch_script TASKS: the sbatch script of the study, for array indices TASKS.
batch_script() {
	local tasks=$1 deepres a gres=1
	deepres=$(command -v "$DEEPRES" || echo "$DEEPRES")
	[[ $deepres == /* ]] || deepres=$(realpath -m "$deepres")
	[[ $QUICK == 1 || $DEVICE == cpu || $GPUS_PER_RUN == 0 ]] && gres=0
	local dev=$DEVICE
	# A task given a GPU must use it: auto would fall back to the CPU if the
	# GPU failed to open, and train for weeks instead of failing.
	[[ $gres == 1 && $dev == auto ]] && dev=cuda
	local -a task_args=("$STUDY" --seeds "$SEEDS" --device "$dev" --dataset "$DATASET" --out "$OUT")
	[[ -n $EPOCHS ]] && task_args+=(--epochs "$EPOCHS")
	[[ $QUICK == 1 ]] && task_args+=(--quick)
	[[ $SMALL == 1 ]] && task_args+=(--small)
	[[ -n $DATA ]] && task_args+=(--data "$DATA")
	echo '#!/usr/bin/env bash'
	echo "#SBATCH --job-name=deepres-$STUDY"
	echo "#SBATCH --array=$tasks"
	echo "#SBATCH --ntasks=1"
	echo "#SBATCH --requeue"
	echo "#SBATCH --signal=B:USR1@120"
	echo "#SBATCH --open-mode=append"
	echo "#SBATCH --output=$OUT/$STUDY/slurm/%A_%a.out"
	[[ $gres == 1 ]] && echo "#SBATCH --gres=gpu:1"
	[[ -n $PARTITION ]] && echo "#SBATCH --partition=$PARTITION"
	[[ -n $TIME ]] && echo "#SBATCH --time=$TIME"
	for a in "${SBATCH_ARGS[@]}"; do echo "#SBATCH $a"; done
	echo "# One task per row-seed: it trains or resumes its run and exits 0 when done,"
	echo "# 1 when it failed (not retried), 75 when deepres stopped at a checkpoint:"
	echo "# preempted (Slurm requeues it) or warned of the time limit by USR1 (it"
	echo "# requeues itself)."
	printf 'export DEEPRES=%q\n' "$deepres"
	printf 'exec bash %q' "$here/run.sh"
	printf ' %q' "${task_args[@]}"
	printf ' --task "$SLURM_ARRAY_TASK_ID"\n'
}

# ranges N...: ascending numbers as Slurm's --array list, runs joined: 0-3,5,7-8
ranges() {
	local out="" from="" prev="" x
	for x in "$@" ""; do
		if [[ -n $prev && $x == $((prev + 1)) ]]; then
			prev=$x
			continue
		fi
		if [[ -n $from ]]; then
			out+=${out:+,}$from
			[[ $prev != "$from" ]] && out+=-$prev
		fi
		from=$x prev=$x
	done
	echo "$out"
}

submit_slurm() {
	local t list n skipped=0 nfailed=0
	local -a pending=()
	for t in "${!task_row[@]}"; do
		locate "$t"
		if finished "$run"; then
			skipped=$((skipped + 1))
		elif [[ -f $run/failed ]]; then
			echo "run.sh: $run failed before ($(cat "$run/failed")); remove $run/failed to retry" >&2
			nfailed=$((nfailed + 1))
		else
			pending+=("$t")
		fi
	done
	n=${#pending[@]}
	list=$(ranges "${pending[@]}")
	local report="$DEEPRES report $(printf '%q' "$OUT") -o $(printf '%q' "$OUT/$STUDY-report.md")"
	if [[ $n == 0 ]]; then
		echo "run.sh: $STUDY: nothing to submit: $skipped run(s) finished, $nfailed failed" >&2
		[[ $DRY_RUN == 1 ]] || write_report
		[[ $nfailed == 0 ]] || exit 1
		return 0
	fi
	if [[ $DRY_RUN == 1 ]]; then
		batch_script "$list"
		return 0
	fi
	command -v sbatch >/dev/null || { echo "run.sh: --slurm: sbatch is not on PATH" >&2; exit 1; }
	mkdir -p "$OUT/$STUDY/slurm"
	local script
	script=$OUT/$STUDY/slurm/submit-$(date +%Y%m%d-%H%M%S).sh
	batch_script "$list" >"$script"
	local id
	id=$(sbatch --parsable "$script") || { echo "run.sh: sbatch $script failed (above)" >&2; exit 1; }
	id=${id%%;*} # "jobid;cluster" on a multi-cluster setup
	echo "$id"
	echo "run.sh: submitted job array $id: $n task(s) of $STUDY ($skipped finished, $nfailed failed before); batch script $script" >&2
	echo "run.sh: watch it: squeue -j $id; tail $OUT/$STUDY/*/seed-*/train.log" >&2
	echo "run.sh: when it is done (squeue -h -j $id prints nothing), write the report: $report" >&2
}

# run_task T: trains (or resumes) task T's run in the foreground of a Slurm
# array task. SIGUSR1, SIGTERM and SIGINT to this script go on to deepres as
# SIGTERM; SIGUSR1 (the time limit) also requeues the task.
run_task() {
	local t=$1 rc=0
	[[ $t -lt ${#task_row[@]} ]] || { echo "run.sh: --task $t: the study has ${#task_row[@]} row-seeds" >&2; exit 2; }
	prepare "$t" "$DEVICE" || rc=$?
	case $rc in
	1) echo "run.sh: $run is finished; nothing to do" >&2; exit 0 ;;
	2) exit 1 ;;
	esac
	echo "run.sh: task $t (job ${SLURM_JOB_ID:-none}, restart ${SLURM_RESTART_COUNT:-0}): $STUDY / $name / seed $k -> $run" >&2
	"${cmd[@]}" >>"$run/train.log" 2>&1 </dev/null &
	local pid=$! limit=0 stopped=0
	trap 'limit=1; kill -TERM "$pid" 2>/dev/null' USR1      # the time limit is near
	trap 'stopped=1; kill -TERM "$pid" 2>/dev/null' TERM INT # preemption, requeue, scancel
	while :; do
		rc=0
		wait "$pid" || rc=$?
		kill -0 "$pid" 2>/dev/null || break # else a trap ended the wait
	done
	# Killed by a signal after we passed on SIGTERM (KillWait ran out):
	# the last epoch's checkpoint is still there, so it is resumable.
	[[ $rc -gt 128 && $((limit + stopped)) -gt 0 ]] && rc=75
	settle "$t" "$rc"
	case $rc in
	0) echo "run.sh: done: $run" >&2; exit 0 ;;
	75)
		if [[ $limit == 1 && $stopped == 0 && -n ${SLURM_JOB_ID:-} ]]; then
			echo "run.sh: stopped at a checkpoint before the time limit: $run; requeueing job $SLURM_JOB_ID" >&2
			trap - TERM INT # the requeue ends this script too
			scontrol requeue "$SLURM_JOB_ID"
		else
			echo "run.sh: stopped at a checkpoint: $run" >&2
		fi
		exit 75
		;;
	*) echo "run.sh: FAILED (exit $rc): $run; see $run/train.log" >&2; exit 1 ;;
	esac
}
