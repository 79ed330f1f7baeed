# Sourced by run.sh: runs a study's row-seeds on this machine, one per device
# slot at a time, with a status line per slot, until the study is done or the
# driver is interrupted.
#
# Each run is pinned with deepres's own --device cuda:K rather than
# CUDA_VISIBLE_DEVICES=K: deepres opens only the device it is given (gpu/backend.go
# retains that one primary context), and cuda:K counts devices exactly as
# `deepres devices` lists them, also under a CUDA_VISIBLE_DEVICES the user set
# for the whole driver (which setting our own would silently override).

# slots_from DEVICES: the device of every slot, one per line.
slots_from() {
	local spec=$1 d
	case $spec in
	cpu:*)
		local n=${spec#cpu:}
		[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --devices cpu:N wants N >= 1, got '$spec'" >&2; return 2; }
		for ((d = 0; d < n; d++)); do echo cpu; done
		;;
	all)
		local list
		list=$("$DEEPRES" devices) || { echo "run.sh: --devices all: deepres devices found no GPU (above)" >&2; return 1; }
		awk '$1 ~ /^cuda:[0-9]+$/ { print $1 }' <<<"$list"
		;;
	*)
		local -a ids
		IFS=, read -r -a ids <<<"$spec"
		[[ ${#ids[@]} -gt 0 ]] || { echo "run.sh: --devices: empty list" >&2; return 2; }
		for d in "${ids[@]}"; do
			d=${d#cuda:}
			[[ $d =~ ^[0-9]+$ ]] || { echo "run.sh: --devices wants GPU numbers (0,1,..), all or cpu:N, got '$spec'" >&2; return 2; }
			echo "cuda:$d"
		done
		;;
	esac
}

# The status block: one line per slot, redrawn in place on a terminal; plain
# lines (on every start and end, and every STATUS_EVERY seconds) otherwise.
tty=0
[[ -t 2 ]] && tty=1
STATUS_EVERY=${STATUS_EVERY:-60}
drawn=0 # status lines on the screen now

status_line() { # status_line S: slot S's device, its run and the run's last progress line
	local s=$1 label=${slot_label[$1]}
	if [[ -z ${slot_pid[$s]:-} ]]; then
		printf '[%s] idle' "$label"
		return
	fi
	local last
	# deepres rewrites its progress line with \r on a terminal and prints
	# plain lines otherwise; its log holds the latter.
	last=$(tail -c 4096 "${slot_run[$s]}/train.log" 2>/dev/null | tr '\r' '\n' | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' | grep -v '^[[:space:]]*$' | tail -n 1 || true)
	printf '[%s] %s: %s' "$label" "${slot_name[$s]}" "$last"
}

status_clear() {
	[[ $tty == 1 && $drawn -gt 0 ]] || return 0
	printf '\033[%dA\033[J' "$drawn" >&2
	drawn=0
}

status_draw() {
	local s cols=${COLUMNS:-$(tput cols 2>/dev/null || echo 120)}
	for s in "${!slot_dev[@]}"; do
		if [[ $tty == 1 ]]; then
			printf '%s\n' "$(status_line "$s" | cut -c "1-$((cols - 1))")" >&2
		else
			printf 'run.sh: %s\n' "$(status_line "$s")" >&2
		fi
	done
	[[ $tty == 1 ]] && drawn=${#slot_dev[@]}
	return 0
}

say() { # say MESSAGE: a line above the status block
	status_clear
	echo "run.sh: $*" >&2
	[[ $tty == 1 ]] && status_draw
	return 0
}

interrupted=0
on_signal() {
	[[ $interrupted == 1 ]] && return 0
	interrupted=1
	local s
	for s in "${!slot_dev[@]}"; do
		[[ -n ${slot_pid[$s]:-} ]] && kill -TERM "${slot_pid[$s]}" 2>/dev/null
	done
	say "interrupted: every run writes its checkpoint and stops; run the same command again to resume"
}

run_local() {
	local spec=${DEVICES:-$DEVICE} s t rc list
	slot_dev=() slot_label=() slot_pid=() slot_task=() slot_run=() slot_name=()
	if [[ -n $DEVICES ]]; then
		list=$(slots_from "$DEVICES") || exit $?
		mapfile -t slot_dev <<<"$list"
	else
		slot_dev=("$DEVICE") # one run at a time, as before --devices
	fi
	[[ ${#slot_dev[@]} -gt 0 && -n ${slot_dev[0]} ]] || { echo "run.sh: --devices $spec: no device" >&2; exit 1; }
	for s in "${!slot_dev[@]}"; do
		slot_label[s]=${slot_dev[s]}
		[[ ${#slot_dev[@]} -gt 1 && ${slot_dev[s]} == cpu ]] && slot_label[s]="cpu#$s"
	done
	trap on_signal INT TERM
	local next=0 ran=0 skipped=0 stopped=0 last_status=$SECONDS
	local -a failed=()
	while :; do
		for s in "${!slot_dev[@]}"; do # fill the free slots
			while [[ $interrupted == 0 && -z ${slot_pid[$s]:-} && $next -lt ${#task_row[@]} ]]; do
				t=$next
				next=$((next + 1))
				rc=0
				prepare "$t" "${slot_dev[$s]}" || rc=$?
				case $rc in
				1) skipped=$((skipped + 1)); continue ;;
				2) failed+=("$name seed $k"); continue ;;
				esac
				if [[ ${cmd[2]} == --resume ]]; then
					say "[${slot_label[$s]}] resuming $run"
				else
					say "[${slot_label[$s]}] $STUDY / $name / seed $k -> $run"
				fi
				"${cmd[@]}" >>"$run/train.log" 2>&1 </dev/null &
				slot_pid[s]=$! slot_task[s]=$t slot_run[s]=$run slot_name[s]="$name seed $k"
				ran=$((ran + 1))
			done
		done
		local busy=0
		for s in "${!slot_dev[@]}"; do
			[[ -n ${slot_pid[$s]:-} ]] || continue
			if kill -0 "${slot_pid[$s]}" 2>/dev/null; then
				busy=1
				continue
			fi
			rc=0
			wait "${slot_pid[$s]}" || rc=$?
			# Killed by the SIGTERM we passed on before deepres could catch it
			# (its first instants): nothing was trained, so it is "resume me"
			# like 75, never a failure (which would skip the run next time).
			[[ $rc -gt 128 && $interrupted == 1 ]] && rc=75
			settle "${slot_task[$s]}" "$rc"
			case $rc in
			0) say "[${slot_label[$s]}] done: ${slot_name[$s]}" ;;
			75) stopped=$((stopped + 1)); say "[${slot_label[$s]}] stopped at a checkpoint: ${slot_name[$s]}" ;;
			*) failed+=("${slot_name[$s]}"); say "[${slot_label[$s]}] FAILED (exit $rc): ${slot_name[$s]}; see ${slot_run[$s]}/train.log" ;;
			esac
			slot_pid[s]=""
		done
		if [[ $busy == 0 ]] && { [[ $interrupted == 1 ]] || [[ $next -ge ${#task_row[@]} ]]; }; then
			local idle=1
			for s in "${!slot_dev[@]}"; do [[ -z ${slot_pid[$s]:-} ]] || idle=0; done
			[[ $idle == 1 ]] && break
		fi
		if [[ $tty == 1 && $SECONDS != "$last_status" ]]; then # once a second
			status_clear
			status_draw
			last_status=$SECONDS
		elif [[ $tty == 0 ]] && ((SECONDS - last_status >= STATUS_EVERY)); then
			status_draw
			last_status=$SECONDS
		fi
		sleep 0.2
	done
	status_clear
	trap - INT TERM
	echo "run.sh: $STUDY: $ran run(s) started, $skipped already finished, ${#failed[@]} failed, $stopped stopped at a checkpoint" >&2
	if [[ $interrupted == 1 || $stopped -gt 0 ]]; then
		echo "run.sh: interrupted; run the same command again to resume (no report written)" >&2
		exit 75
	fi
	write_report
	local f
	for f in "${failed[@]}"; do echo "run.sh: failed: $f" >&2; done
	[[ ${#failed[@]} -eq 0 ]] || exit 1
}
