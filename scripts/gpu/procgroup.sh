# procgroup.sh — sourced by check.sh and all.sh (bash): run a command in its
# own process group under a time limit, and kill whole groups.
#
# Why not GNU timeout: timeout puts itself and its command in a process group
# of its own and, when it expires, signals only that group. A timeout nested
# in another (check.sh's step limits inside all.sh's) is then out of the outer
# one's reach: killing the outer left the inner test binary running on the
# GPU next to the benchmark. Here every command runs in a new session
# (setsid(1): its own process group, whatever it starts joins it), and a
# limit, a signal or the command's end kills that group with kill -- -PGID.

# run_group LIMIT LOG CMD...: runs CMD with stdout and stderr in LOG and
# stdin from /dev/null, in a new session. After LIMIT seconds its group gets
# TERM, then KILL (kill_group). Returns CMD's status, or 124 when the limit
# ended it (as GNU timeout does). What is left of the group when CMD ends is
# killed. PG_CURRENT holds the running group (for a caller's trap); when
# PG_LIST names a file, each group is appended to it, so that an outer script
# can kill groups an inner one left behind.
run_group() {
	local limit=$1 log=$2 pid start=$SECONDS timed_out=0 rc
	shift 2
	# A background job of a non-interactive shell is not a group leader, so
	# setsid(1) calls setsid(2) without forking: $! is the new group's id.
	setsid "$@" >"$log" 2>&1 </dev/null &
	pid=$!
	PG_CURRENT=$pid
	if [ -n "${PG_LIST:-}" ]; then echo "$pid" >>"$PG_LIST"; fi
	while kill -0 "$pid" 2>/dev/null; do
		if ((SECONDS - start >= limit)); then
			timed_out=1
			kill_group "$pid" "${PG_GRACE:-50}"
			break
		fi
		sleep 0.2
	done
	wait "$pid"
	rc=$?
	kill -KILL -- "-$pid" 2>/dev/null
	PG_CURRENT=
	if ((timed_out)); then return 124; fi
	return "$rc"
}

# kill_group PGID [GRACE]: TERM to every process of the group, KILL to what
# is left after GRACE tenths of a second (default 50).
kill_group() {
	local g=$1 grace=${2:-50} i
	kill -TERM -- "-$g" 2>/dev/null || return 0
	for ((i = 0; i < grace; i++)); do
		kill -0 -- "-$g" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL -- "-$g" 2>/dev/null
	return 0
}
