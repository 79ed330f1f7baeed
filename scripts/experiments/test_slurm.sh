#!/usr/bin/env bash
# Tests run.sh --slurm on a real one-node Slurm cluster that it starts on
# localhost: munged, slurmctld and slurmd from Debian's slurm-wlm and munge
# (installed by .ci/run, not here), run as root with a minimal slurm.conf,
# listening on 127.0.0.1 only, stopped by a trap however the test ends.
#
#   DEEPRES=/path/to/deepres bash scripts/experiments/test_slurm.sh
#
# 1. run.sh table1 --quick --slurm: every task finishes and the report equals
#    the one a local --quick run writes (same numbers; wall time and img/s
#    left out).
# 2. Preemption for real: one task of a --small study is stopped twice mid-run,
#    first as at the time limit (SIGUSR1 to the batch shell only, what
#    --signal=B:USR1@120 does: the task requeues itself), then by
#    scontrol requeue (what preemption does); it resumes each time and its
#    checkpoint ends byte-identical to an uninterrupted run's.
# 3. A task whose run fails exits 1 and is not requeued.
# Without slurm-wlm it skips, except under CI=true, where it fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
: "${DEEPRES:?set DEEPRES to a deepres binary}"
export DEEPRES
started=$SECONDS

fail() {
	echo "test_slurm: FAIL: $*" >&2
	exit 1
}
unavailable() { # the cluster cannot run here: a failure in CI, a skip elsewhere
	if [[ ${CI:-} == true ]]; then fail "$*"; fi
	echo "test_slurm: SKIP: $*" >&2
	exit 0
}

for c in munged slurmctld slurmd sbatch scontrol squeue; do
	command -v "$c" >/dev/null || unavailable "$c not found (apt-get install slurm-wlm munge)"
done
[[ $(id -u) == 0 ]] || unavailable "the test cluster runs as root (SlurmUser=root)"

W=$(mktemp -d /tmp/deepres-slurm.XXXXXX)
chmod 700 "$W"
daemons=()
cleanup() {
	local rc=$? p
	if [[ -f $W/slurm.conf ]] && squeue -h >/dev/null 2>&1; then
		# Cancel our jobs and let them go before stopping slurmd: job steps
		# outlive it otherwise.
		scancel --full --user=root 2>/dev/null || true
		for _ in $(seq 1 50); do
			[[ -z $(squeue -h 2>/dev/null) ]] && break
			sleep 0.2
		done
	fi
	for p in "${daemons[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${daemons[@]}"; do wait "$p" 2>/dev/null || true; done
	if [[ $rc != 0 ]]; then
		for f in "$W"/log/*.log; do
			echo "--- tail of $f" >&2
			tail -n 15 "$f" >&2 || true
		done
	fi
	rm -rf "$W"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() { # a free local port from $1 on
	local p=$1
	while ! port_free "$p"; do p=$((p + 1)); done
	echo "$p"
}
ctld_port=$(pick_port 16817)
d_port=$(pick_port $((ctld_port + 1)))

# ---- the cluster: one node, 2 CPUs, everything on 127.0.0.1 ----
mkdir -p "$W/state" "$W/spool" "$W/log"
head -c 1024 /dev/urandom >"$W/munge.key"
chmod 600 "$W/munge.key"
host=$(hostname -s)
cat >"$W/slurm.conf" <<EOF
ClusterName=deepres-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
# bind to 127.0.0.1 (the hosts' addresses above), not to every address
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$W/munge.sock
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$W/state
SlurmdSpoolDir=$W/spool
SlurmctldPidFile=$W/slurmctld.pid
SlurmdPidFile=$W/slurmd.pid
SlurmctldLogFile=$W/log/slurmctld.log
SlurmdLogFile=$W/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
# start tasks as soon as CPUs free up (the defaults wait seconds between rounds)
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$W/slurm.conf
# munged: a Unix socket only (no network); --force because $W is under /tmp.
munged -F --force --socket="$W/munge.sock" --key-file="$W/munge.key" --pid-file="$W/munged.pid" \
	--seed-file="$W/munge.seed" --log-file="$W/log/munged.log" >>"$W/log/munged.log" 2>&1 &
daemons+=($!)
for _ in $(seq 1 50); do [[ -S $W/munge.sock ]] && break; sleep 0.1; done
[[ -S $W/munge.sock ]] || unavailable "munged did not start"
slurmctld -D -i -f "$SLURM_CONF" >>"$W/log/slurmctld.log" 2>&1 &
daemons+=($!)
slurmd -D -f "$SLURM_CONF" >>"$W/log/slurmd.log" 2>&1 &
daemons+=($!)
up=0
for _ in $(seq 1 100); do
	if [[ $(sinfo -h -o %T 2>/dev/null) == idle ]]; then up=1; break; fi
	sleep 0.2
done
[[ $up == 1 ]] || unavailable "the Slurm cluster did not come up (sinfo: $(sinfo 2>&1 | tr '\n' ' '))"
echo "test_slurm: cluster up on 127.0.0.1:$ctld_port/$d_port in $((SECONDS - started)) s" >&2

# wait_job ID [SECONDS]: until no task of job ID is pending or running
wait_job() {
	local id=$1 limit=${2:-300} t0=$SECONDS
	while [[ -n $(squeue -h -j "$id" 2>/dev/null) ]]; do
		((SECONDS - t0 < limit)) || fail "job $id still queued after $limit s: $(squeue -j "$id")"
		sleep 0.5
	done
}
# job_field ID FIELD: FIELD=value of scontrol show job ID, one line per task
job_field() { scontrol -o show job "$1" | grep -o "\b$2=[^ ]*"; }
# start_now ID: a requeued task waits ~2 minutes (its BeginTime); start it now.
start_now() {
	local t0=$SECONDS
	until [[ $(job_field "$1" JobState) == JobState=PENDING ]]; do
		((SECONDS - t0 < 60)) || fail "$1 was not requeued: $(job_field "$1" JobState)"
		sleep 0.2
	done
	# slurmd refuses a launch credential issued in the second it revoked the
	# last one ("Job credential revoked"; the reason for that BeginTime).
	sleep 2
	scontrol update JobId="$1" StartTime=now
}
# epochs DIR: epochs in DIR/metrics.jsonl
epochs() { if [[ -f $1/metrics.jsonl ]]; then grep -c '"epoch":[1-9]' "$1/metrics.jsonl"; else echo 0; fi; } # the header line has epoch 0
# wait_epochs DIR N: until DIR's run has N epochs
wait_epochs() {
	local t0=$SECONDS
	while (($(epochs "$1") < $2)); do
		((SECONDS - t0 < 120)) || fail "$1: no epoch $2 in 120 s"
		sleep 0.1
	done
}
# table REPORT: the report without its folder line and wall time and img/s columns
table() { grep -v '^Results folder' "$1" | sed -E '/^\|/ s/[^|]*\|[^|]*\|$//'; }

# ---- 1. the quick study as a job array, against a local run ----
bash "$here/run.sh" table1 --quick --out "$W/local" >"$W/local.log" 2>&1 || { cat "$W/local.log"; fail "local --quick run"; }
id=$(bash "$here/run.sh" table1 --quick --slurm --out "$W/slurm" 2>"$W/submit.log") || { cat "$W/submit.log"; fail "submit"; }
[[ $id =~ ^[0-9]+$ ]] || fail "run.sh --slurm printed '$id', not a job id"
report=$(sed -n 's/.*write the report: //p' "$W/submit.log")
[[ -n $report ]] || fail "run.sh --slurm did not print the report command: $(cat "$W/submit.log")"
wait_job "$id"
states=$(job_field "$id" JobState | sort | uniq -c | tr -s ' ')
[[ $states == " 11 JobState=COMPLETED" ]] || fail "table1 array: $states, want 11 COMPLETED"
eval "$report" 2>/dev/null || fail "the printed report command failed: $report" # the command as printed
diff <(table "$W/local/table1-report.md") <(table "$W/slurm/table1-report.md") >&2 ||
	fail "the Slurm array's report differs from the local run's"
# Submitting again submits nothing: every row is finished.
bash "$here/run.sh" table1 --quick --slurm --out "$W/slurm" >"$W/again.out" 2>"$W/again.log" || fail "resubmit: $(cat "$W/again.log")"
[[ ! -s $W/again.out ]] && grep -q "nothing to submit" "$W/again.log" || fail "resubmit of a finished study: $(cat "$W/again.log")"
echo "test_slurm: 1. table1 --quick as a job array: 11 tasks, same report as the local run ($((SECONDS - started)) s)" >&2

# ---- 2. preemption and time limit, mid-run, against an uninterrupted run ----
small=(table1 --small --device cpu --dataset folder --data "$W/local/quick-data" --epochs 40 --out "$W/rq")
run=$W/rq/table1/original_as_resnet-8/seed-0
bash "$here/run.sh" "${small[@]}" --task 0 2>"$W/ref.log" || fail "uninterrupted run: $(cat "$W/ref.log")"
mv "$W/rq" "$W/ref" # the same path for both runs: the checkpoint records it
id=$(bash "$here/run.sh" "${small[@]}" --slurm --sbatch-arg --array=0 2>"$W/submit-rq.log") || fail "submit: $(cat "$W/submit-rq.log")"
wait_epochs "$run" 3
scancel --batch --signal=USR1 "${id}_0" # as --signal=B:USR1@120 at the time limit: the batch shell alone
start_now "${id}_0"
(($(epochs "$run") < 40)) || fail "the run ended before the time-limit signal; make it longer"
at=$(epochs "$run")
wait_epochs "$run" $((at + 3))
scontrol requeue "${id}_0" # as preemption: every process of the task
start_now "${id}_0"
(($(epochs "$run") < 40)) || fail "the run ended before the requeue; make it longer"
wait_job "$id"
[[ $(job_field "$id" JobState) == JobState=COMPLETED ]] || fail "requeued task: $(job_field "$id" JobState)"
[[ $(job_field "$id" Restarts) == Restarts=2 ]] || fail "requeued task: $(job_field "$id" Restarts), want 2"
n=$(grep -c "training interrupted; checkpoint written" "$run/train.log" || true)
m=$(grep -c "deepres: resuming" "$run/train.log" || true)
[[ $n == 2 && $m == 2 ]] || fail "train.log: $n interruption(s), $m resumption(s), want 2 each"
cmp "$W/ref/table1/original_as_resnet-8/seed-0/last.safetensors" "$run/last.safetensors" ||
	fail "the twice-interrupted run's checkpoint differs from the uninterrupted run's"
echo "test_slurm: 2. one task stopped at the time limit and by requeue, resumed twice, checkpoint identical ($((SECONDS - started)) s)" >&2

# ---- 3. a failed run is not retried ----
id=$(bash "$here/run.sh" table1 --quick --data "$W/nowhere" --slurm --out "$W/bad" --sbatch-arg --array=0 2>"$W/submit-bad.log") ||
	fail "submit: $(cat "$W/submit-bad.log")"
wait_job "$id" 60
[[ $(job_field "$id" JobState) == JobState=FAILED && $(job_field "$id" ExitCode) == ExitCode=1:0 &&
	$(job_field "$id" Restarts) == Restarts=0 ]] ||
	fail "failed task: $(job_field "$id" JobState) $(job_field "$id" ExitCode) $(job_field "$id" Restarts)"
ls "$W"/bad/table1/*/seed-0/failed >/dev/null || fail "no 'failed' marker"
echo "test_slurm: 3. a failed run: exit 1, not requeued ($((SECONDS - started)) s)" >&2
echo "test_slurm: PASS in $((SECONDS - started)) s" >&2
