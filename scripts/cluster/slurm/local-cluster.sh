#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for tests and trying the job
# array out: a munge key and daemon, a slurm.conf, slurmctld and slurmd on
# loopback ports, all under DIR (nothing in /etc is touched).
#
#   local-cluster.sh start DIR   starts it; prints "export SLURM_CONF=..." (also in DIR/env)
#   local-cluster.sh stop DIR    stops the daemons it started (by their pid files)
#
# Needs Debian's slurm-wlm and munge (scripts/install-deps.sh installs them).
# Jobs run as the calling user, on as many CPUs as the machine has.
set -euo pipefail
cmd=${1:?usage: local-cluster.sh start|stop DIR}
DIR=$(mkdir -p "${2:?usage: local-cluster.sh start|stop DIR}" && cd "$2" && pwd)

stop() {
  for d in slurmd slurmctld munged; do
    local pidf="$DIR/run/$d.pid"
    [ -f "$pidf" ] || continue
    local pid
    pid=$(cat "$pidf")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidf"
  done
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

if [ "$cmd" = stop ]; then
  stop
  exit 0
fi
[ "$cmd" = start ] || { echo "usage: local-cluster.sh start|stop DIR" >&2; exit 2; }
for b in munged slurmctld slurmd sbatch; do
  command -v "$b" >/dev/null || [ -x "/usr/sbin/$b" ] || {
    echo "local-cluster.sh: $b not found (apt-get install slurm-wlm munge)" >&2; exit 2; }
done
export PATH="$PATH:/usr/sbin"
mkdir -p "$DIR/run" "$DIR/log" "$DIR/state" "$DIR/spool" "$DIR/munge"
chmod 700 "$DIR/munge" "$DIR/run"
# munge: a fresh key, a socket of our own
if [ ! -f "$DIR/munge/munge.key" ]; then
  head -c 1024 /dev/urandom >"$DIR/munge/munge.key"
  chmod 400 "$DIR/munge/munge.key"
fi
SOCK="$DIR/munge/munge.socket"
munged --force --key-file="$DIR/munge/munge.key" --socket="$SOCK" \
  --pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" \
  --seed-file="$DIR/munge/munged.seed"

USER_NAME=$(id -un)
NODE=$(hostname -s)
CPUS=$(nproc)
MEM=$(awk '/MemTotal/ {print int($2 / 1024 / 2)}' /proc/meminfo)
CTLD_PORT=$(free_port)
SLURMD_PORT=$(free_port)
cat >"$DIR/slurm.conf" <<CONF
ClusterName=ferret-local
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=$USER_NAME
SlurmdUser=$USER_NAME
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=300
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=local Nodes=$NODE Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
export SLURM_CONF="$DIR/slurm.conf"
echo "export SLURM_CONF=$SLURM_CONF" >"$DIR/env"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N "$NODE"
# ready when the node takes jobs
for _ in $(seq 100); do
  state=$(sinfo -h -N -o %t 2>/dev/null | head -1 || true)
  case "$state" in idle*|mix*|alloc*) break ;; esac
  sleep 0.2
done
case "$state" in
  idle*|mix*|alloc*) ;;
  *) echo "local-cluster.sh: the node did not come up (state '$state'); logs in $DIR/log" >&2
     tail -5 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
     stop; exit 1 ;;
esac
echo "export SLURM_CONF=$SLURM_CONF"
