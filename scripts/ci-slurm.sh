#!/usr/bin/env bash
# Runs torsim's MPI build as a two-task job on a real, one-node Slurm cluster started on
# this machine, and checks that the job's result equals a serial run's (everything
# outside `performance`).
#
# What it does: installs Debian's slurm-wlm and munge if missing (needs root), creates
# a munge key if there is none, writes a slurm.conf for this machine alone into a
# temporary directory (the machine's CPUs and memory as `slurmd -C` reports them),
# starts munged, slurmctld and slurmd, submits `sbatch --wait scripts/torsim.sbatch`
# with 2 tasks, compares the results and stops the daemons it started (also on
# failure). It also checks that a build without the `mpi` feature, started as two
# Slurm tasks, refuses to run instead of running two duplicate simulations.
#
# Environment: TORSIM_MPI (the srun --mpi type, default pmix), KEEP=1 keeps the
# temporary directory (logs) for inspection.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

scripts/apt-ensure.sh slurm-wlm munge libopenmpi-dev openmpi-bin libclang-dev

export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

echo "ci-slurm: building the MPI binary" >&2
CARGO_TARGET_DIR="$ROOT/target/mpi" cargo build --release --features mpi --quiet
MPI_BIN="$ROOT/target/mpi/release/torsim"
cargo build --release --quiet
# The serial build goes where cargo puts it (a CARGO_TARGET_DIR set outside counts).
SERIAL_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/torsim"

WORK=$(mktemp -d /tmp/torsim-slurm.XXXXXX)
chmod 755 "$WORK"
STARTED=()
cleanup() {
    local status=$?
    for pidfile in "${STARTED[@]}"; do
        if [ -f "$pidfile" ]; then
            kill "$(cat "$pidfile")" 2>/dev/null || true
        fi
    done
    sleep 1
    if [ $status -ne 0 ]; then
        for log in "$WORK"/*.log; do
            [ -f "$log" ] || continue
            echo "---- $log (last lines)" >&2
            tail -n 20 "$log" >&2
        done
    fi
    if [ "${KEEP:-0}" = 1 ]; then
        echo "ci-slurm: kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
    exit $status
}
trap cleanup EXIT

# munge: a key (kept if one exists), its run directory, the daemon as the munge user.
if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --force
fi
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
if ! munge -n >/dev/null 2>&1; then
    # The pid file goes where the munge user may write it.
    runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/torsim-ci.pid --force
    STARTED+=(/run/munge/torsim-ci.pid)
    for _ in $(seq 50); do munge -n >/dev/null 2>&1 && break; sleep 0.1; done
fi
munge -n | unmunge >/dev/null

# A one-node cluster: this machine, as slurmd itself describes it.
HOST=$(hostname -s)
NODE_LINE=$(slurmd -C | head -n 1)
mkdir -p "$WORK/state" "$WORK/spool"
export SLURM_CONF="$WORK/slurm.conf"
cat > "$SLURM_CONF" <<EOF
ClusterName=torsim-ci
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
$NODE_LINE State=UNKNOWN
PartitionName=ci Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

slurmctld -i
STARTED+=("$WORK/slurmctld.pid")
slurmd
STARTED+=("$WORK/slurmd.pid")
for _ in $(seq 100); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed)'; then break; fi
    sleep 0.2
done
sinfo
echo "ci-slurm: srun MPI types: $(srun --mpi=list 2>&1 | tr '\n' ' ')" >&2

CONFIG=configs/torus-8x8.toml
ARGS=(--set simulation.warmup_cycles=500 --set simulation.measure_cycles=3000
      --set traffic.injection_rate=0.2)

"$SERIAL_BIN" run "$CONFIG" "${ARGS[@]}" --out "$WORK/serial.json" >/dev/null

echo "ci-slurm: sbatch --wait, 2 tasks, MPI build" >&2
TORSIM="$MPI_BIN" OUT="$WORK/job.json" sbatch --wait --nodes=1 --ntasks-per-node=2 \
    --cpus-per-task=1 --time=00:10:00 --output="$WORK/job-%j.log" \
    scripts/torsim.sbatch "$CONFIG" "${ARGS[@]}"
cat "$WORK"/job-*.log

python3 - "$WORK/serial.json" "$WORK/job.json" <<'EOF'
import json, sys
serial, job = (json.load(open(p)) for p in sys.argv[1:3])
assert job["performance"]["ranks"] == 2, job["performance"]
for d in (serial, job):
    d.pop("performance", None)
    d.pop("git_revision", None)
if serial != job:
    diff = [k for k in serial if serial.get(k) != job.get(k)]
    sys.exit(f"ci-slurm: the Slurm job's result differs from the serial run in {diff}")
print("ci-slurm: the 2-rank Slurm job equals the serial run")
EOF

echo "ci-slurm: a build without MPI started as 2 tasks must refuse" >&2
if srun -n 2 "$SERIAL_BIN" run "$CONFIG" "${ARGS[@]}" >"$WORK/nompi.log" 2>&1; then
    cat "$WORK/nompi.log"
    echo "ci-slurm: the serial build ran as 2 tasks without complaint" >&2
    exit 1
fi
grep -q -- '--features mpi' "$WORK/nompi.log" || {
    cat "$WORK/nompi.log"
    echo "ci-slurm: the refusal does not say to build with --features mpi" >&2
    exit 1
}
echo "ci-slurm: ok" >&2
