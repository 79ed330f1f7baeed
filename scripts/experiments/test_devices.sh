#!/usr/bin/env bash
# Tests run.sh --devices on the CPU (cpu:N slots):
# 1. table1 --quick on --devices cpu:2 writes the same report as the
#    sequential run (wall time and img/s left out);
# 2. SIGTERM to the driver mid-study stops every run at a checkpoint (exit
#    75); running the same command again resumes them, and their checkpoints
#    end byte-identical to uninterrupted runs';
# 3. bad --devices and flag combinations are usage errors (exit 2);
# 4. --slurm --dry-run prints the batch script (no Slurm needed);
# 5. runs that SIGTERM kills before deepres catches it are resumable, not
#    failed.
#
#   DEEPRES=/path/to/deepres bash scripts/experiments/test_devices.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${DEEPRES:?set DEEPRES to a deepres binary}"
export DEEPRES
started=$SECONDS
W=$(mktemp -d /tmp/deepres-devices.XXXXXX)
driver=""
cleanup() {
	local rc=$?
	[[ -n $driver ]] && kill -TERM "$driver" 2>/dev/null && wait "$driver" 2>/dev/null
	rm -rf "$W"
	exit "$rc"
}
trap cleanup EXIT
fail() {
	echo "test_devices: FAIL: $*" >&2
	exit 1
}
table() { grep -v '^Results folder' "$1" | sed -E '/^\|/ s/[^|]*\|[^|]*\|$//'; }

# ---- 1. two CPU slots, same report as one ----
bash "$here/run.sh" table1 --quick --out "$W/seq" >"$W/seq.log" 2>&1 || { cat "$W/seq.log"; fail "sequential run"; }
bash "$here/run.sh" table1 --quick --out "$W/par" --devices cpu:2 >"$W/par.log" 2>&1 || { cat "$W/par.log"; fail "--devices cpu:2"; }
grep -q '^run.sh: \[cpu#1\]' "$W/par.log" || fail "no run on the second slot: $(cat "$W/par.log")"
diff <(table "$W/seq/table1-report.md") <(table "$W/par/table1-report.md") >&2 || fail "--devices cpu:2: the report differs"
echo "test_devices: 1. --devices cpu:2: same report as the sequential run ($((SECONDS - started)) s)" >&2

# ---- 2. interrupt the driver, rerun, compare with uninterrupted runs ----
study=(table1 --small --dataset folder --data "$W/seq/quick-data" --epochs 8 --out "$W/st")
bash "$here/run.sh" "${study[@]}" --devices cpu:2 >"$W/int.log" 2>&1 &
driver=$!
t0=$SECONDS
until [[ $(cat "$W"/st/table1/*/seed-0/metrics.jsonl 2>/dev/null | grep -c '"epoch":[1-9]') -ge 2 ]]; do
	((SECONDS - t0 < 120)) || fail "no epoch in 120 s: $(cat "$W/int.log")"
	sleep 0.05
done
kill -TERM "$driver"
rc=0
wait "$driver" || rc=$?
driver=""
[[ $rc == 75 ]] || fail "interrupted driver: exit $rc, want 75: $(cat "$W/int.log")"
mapfile -t stopped < <(grep -l "training interrupted; checkpoint written" "$W"/st/table1/*/seed-0/train.log | xargs -n1 dirname)
[[ ${#stopped[@]} -ge 1 ]] || fail "no run was stopped mid-way: $(cat "$W/int.log")"
[[ ! -f $W/st/table1-report.md ]] || fail "an interrupted study wrote its report"
bash "$here/run.sh" "${study[@]}" --devices cpu:2 >"$W/resume.log" 2>&1 || { cat "$W/resume.log"; fail "rerun"; }
[[ $(grep -c "resuming" "$W/resume.log") == "${#stopped[@]}" ]] || fail "${#stopped[@]} run(s) stopped, but: $(grep resuming "$W/resume.log")"
# The stopped runs again, uninterrupted, at the same path (the checkpoint records it).
mv "$W/st" "$W/int"
for d in "${stopped[@]}"; do
	task=$(grep -o '"index":[0-9]*' "$W/int/${d#"$W"/st/}/row.json" | cut -d: -f2) # seed 0: task = row
	bash "$here/run.sh" "${study[@]}" --device cpu --task "$task" 2>>"$W/ref.log" || { cat "$W/ref.log"; fail "task $task"; }
	cmp "$d/last.safetensors" "$W/int/${d#"$W"/st/}/last.safetensors" || fail "checkpoint differs after resuming: $d"
done
echo "test_devices: 2. interrupted with ${#stopped[@]} run(s) in flight, resumed, checkpoints identical to uninterrupted runs ($((SECONDS - started)) s)" >&2

# ---- 3. usage errors ----
for bad in "--devices cpu:0" "--devices 0,x" "--devices 0 --device cpu" "--devices cpu:2 --slurm" \
	"--partition p" "--dry-run" "--slurm --gpus-per-run 2" "--slurm --quick --gpus-per-run 1" "--seeds"; do
	rc=0
	# shellcheck disable=SC2086 # split the flags on purpose
	bash "$here/run.sh" table1 --out "$W/bad" $bad >"$W/bad.log" 2>&1 || rc=$?
	[[ $rc == 2 ]] || fail "run.sh table1 $bad: exit $rc, want 2: $(cat "$W/bad.log")"
done
echo "test_devices: 3. bad flag combinations: exit 2" >&2

# ---- 4. --slurm --dry-run prints the batch script and submits nothing ----
script=$(PATH=/nonexistent:/usr/bin:/bin bash "$here/run.sh" table2 --seeds 2 --out "$W/dry" --slurm --dry-run \
	--partition gpu --time 4:00:00 --sbatch-arg --mem=16G 2>"$W/dry.log") || fail "--dry-run: $(cat "$W/dry.log")"
rows=$(grep -c '^row table2 ' "$here/run.sh") # one task per row-seed
for want in "#SBATCH --array=0-$((2 * rows - 1))" "#SBATCH --gres=gpu:1" "#SBATCH --requeue" "#SBATCH --signal=B:USR1@120" \
	"#SBATCH --partition=gpu" "#SBATCH --time=4:00:00" "#SBATCH --mem=16G" "--device cuda" "--task \"\$SLURM_ARRAY_TASK_ID\""; do
	grep -qF -- "$want" <<<"$script" || fail "--dry-run: no '$want' in: $script"
done
script=$(bash "$here/run.sh" table1 --quick --out "$W/dry" --slurm --dry-run 2>"$W/dry.log") || fail "--dry-run --quick: $(cat "$W/dry.log")"
grep -q -- "--gres" <<<"$script" && fail "--quick runs on the CPU, but the batch script asks for a GPU: $script"
grep -qF -- "--quick" <<<"$script" || fail "--dry-run --quick: the task does not get --quick: $script"
echo "test_devices: 4. --slurm --dry-run: the batch script" >&2
# ---- 5. an interrupt before deepres catches signals is "resume me", not a failure ----
# A stand-in deepres that dies of the driver's SIGTERM (exit 143), as one in
# its first instants does, before its handlers are installed.
stub=$W/stub-deepres
mkdir "$W/started"
printf '#!/usr/bin/env bash\n[[ $1 == train ]] && touch %q/$$ && exec sleep 60\nexit 1\n' "$W/started" >"$stub"
chmod +x "$stub"
DEEPRES=$stub bash "$here/run.sh" table1 --small --dataset folder --data "$W/seq/quick-data" --epochs 8 --out "$W/early" --devices cpu:2 >"$W/early.log" 2>&1 &
driver=$!
t0=$SECONDS
until [[ $(ls "$W/started" | wc -l) -ge 2 ]]; do
	((SECONDS - t0 < 30)) || fail "the stand-in runs did not start: $(cat "$W/early.log")"
	sleep 0.05
done
kill -TERM "$driver"
rc=0
wait "$driver" || rc=$?
driver=""
[[ $rc == 75 ]] || fail "driver interrupted while its runs start: exit $rc, want 75: $(cat "$W/early.log")"
if compgen -G "$W/early/table1/*/seed-0/failed" >/dev/null; then
	fail "runs killed before they caught the signal were marked failed: $(cat "$W"/early/table1/*/seed-0/failed)"
fi
grep -q "FAILED" "$W/early.log" && fail "the driver calls an interrupted start a failure: $(cat "$W/early.log")"
echo "test_devices: 5. runs stopped before catching signals: resumable, not failed" >&2
echo "test_devices: PASS in $((SECONDS - started)) s" >&2
