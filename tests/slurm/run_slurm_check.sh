#!/usr/bin/env bash
# The SLURM profile against a real SLURM (issue 22): brings up a single-node cluster on
# this machine from Debian's packages (slurm-wlm, munge; installed with apt-get when
# missing, which needs root), without accounting storage (no slurmdbd: `sacct` has
# nothing to report, as on many small clusters), and runs the slurm-marked tests
# (tests/slurm/test_slurm_profile.py: a tiny Fig. 2 graph through profiles/slurm). The
# daemons it starts are stopped at the end; the cluster's files live in a temporary
# directory (SLURM_CONF, and a link /etc/slurm/slurm.conf removed at the end, point every
# SLURM command at its slurm.conf; a machine that has one already is refused).
#
#   tests/slurm/run_slurm_check.sh [python]      # python: default .venv/bin/python
#
# Not part of the default test run (a few minutes; root for apt-get and the daemons).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=${1:-$REPO/.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge
fi

CLUSTER=$(mktemp -d /tmp/gmnn-slurm.XXXXXX)
chmod 755 "$CLUSTER"
PIDS=()
LINKED=
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -n "$LINKED" ]; then rm -f /etc/slurm/slurm.conf; fi
}
trap cleanup EXIT

# munge: a key, and the daemon unless one runs already
if ! munge -n >/dev/null 2>&1; then
    if [ ! -s /etc/munge/munge.key ]; then
        (mungekey --create 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024)
        chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    fi
    mkdir -p /run/munge && chown munge:munge /run/munge
    runuser -u munge -- /usr/sbin/munged --foreground &
    PIDS+=($!)
    for _ in $(seq 50); do munge -n >/dev/null 2>&1 && break; sleep 0.2; done
fi

# slurm.conf sized to this machine: one node with its CPUs and 90 % of its memory
HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
mkdir -p "$CLUSTER"/{state,spool,log}
cat >"$CLUSTER/slurm.conf" <<CONF
ClusterName=gmnn-check
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$CLUSTER/state
SlurmdSpoolDir=$CLUSTER/spool
SlurmctldPidFile=$CLUSTER/slurmctld.pid
SlurmdPidFile=$CLUSTER/slurmd.pid
SlurmctldLogFile=$CLUSTER/log/slurmctld.log
SlurmdLogFile=$CLUSTER/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MinJobAge=600
MpiDefault=none
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=check Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$CLUSTER/slurm.conf
# srun inside a job step reads the default path, not SLURM_CONF: link it there, unless a
# slurm.conf is there already (a real cluster's: then this machine is not for this check)
if [ -e /etc/slurm/slurm.conf ]; then
    echo "/etc/slurm/slurm.conf exists: not overwriting a configured SLURM" >&2
    exit 2
fi
mkdir -p /etc/slurm && ln -s "$SLURM_CONF" /etc/slurm/slurm.conf && LINKED=1
slurmctld -D -f "$SLURM_CONF" &
PIDS+=($!)
sleep 2
slurmd -D -f "$SLURM_CONF" &
PIDS+=($!)
for _ in $(seq 60); do
    sinfo -h -o %T 2>/dev/null | grep -q idle && break
    sleep 1
done
sinfo
scontrol show config | grep -E "AccountingStorageType|MinJobAge"

export GMNN_SLURM_PARTITION=check GMNN_SLURM_GPU_PARTITION=check GMNN_SLURM_CPUS=$CPUS
cd "$REPO"
"$PYTHON" -m pytest -m slurm -x -q -p no:cacheprovider tests/slurm
