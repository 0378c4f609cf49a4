#!/usr/bin/env bash
# A single-node SLURM cluster on this machine (Debian's slurmctld, slurmd and munge), for the SLURM
# tests and for trying `launcher=slurm` without a cluster.
#
#   scripts/local_slurm.sh start    # install what is missing, write the config, start the daemons
#   scripts/local_slurm.sh status   # whether they run, and the node as SLURM sees it
#   scripts/local_slurm.sh stop     # end the daemons this script started (and nothing else)
#
# Everything lives in $MMAGAN_SLURM_DIR (default /tmp/mmagan-slurm): slurm.conf, the munge key,
# logs, spool and pid files. Clients find the cluster through SLURM_CONF, and $DIR/bin holds a
# sacct that answers from squeue (there is no accounting database):
#   export SLURM_CONF=/tmp/mmagan-slurm/slurm.conf PATH=/tmp/mmagan-slurm/bin:$PATH
# Idempotent: `start` on a running cluster and `stop` on a stopped one say so and change nothing.
set -euo pipefail

DIR=${MMAGAN_SLURM_DIR:-/tmp/mmagan-slurm}
CONF=$DIR/slurm.conf
HOST=$(hostname -s)
DAEMONS=(munged slurmctld slurmd)

say() { echo "local_slurm: $*"; }

pid_of() { [ -f "$DIR/run/$1.pid" ] && cat "$DIR/run/$1.pid" || true; }

running() {
  local pid
  pid=$(pid_of "$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
      && command -v munged >/dev/null; then
    return
  fi
  say "installing slurmctld, slurmd, slurm-client and munge (Debian packages)"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  local packages=(slurmctld slurmd slurm-client munge)
  # A fresh machine may have no package lists yet: refresh them once if the first try fails.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${packages[@]}" >/dev/null \
    || { $sudo apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${packages[@]}" >/dev/null; }
}

write_sacct() {
  # No accounting database here, so the real sacct only says "accounting storage is disabled", and
  # submitit, which polls sacct for its jobs' states, warns on every poll. This sacct answers from
  # squeue (which keeps finished jobs for MinJobAge seconds) in sacct's --parsable2 layout.
  cat > "$DIR/bin/sacct" <<'SACCT'
#!/usr/bin/env bash
ids=""
while [ $# -gt 0 ]; do
  case "$1" in -j|--jobs) ids="$2"; shift 2 ;; *) shift ;; esac
done
echo "JobID|State|NodeList"
[ -z "$ids" ] || squeue -h --states=all -j "$ids" -o "%i|%T|%N" 2>/dev/null || true
SACCT
  chmod +x "$DIR/bin/sacct"
}

write_config() {
  mkdir -p "$DIR"/{run,log,spool/ctld,spool/d,munge,bin}
  write_sacct
  chmod 700 "$DIR/munge"
  if [ ! -f "$DIR/munge/munge.key" ]; then
    dd if=/dev/urandom bs=1 count=1024 of="$DIR/munge/munge.key" status=none
    chmod 400 "$DIR/munge/munge.key"
  fi
  local cpus mem
  cpus=$(nproc)
  mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
  cat > "$CONF" <<CONF
# Written by scripts/local_slurm.sh: one node, this machine.
ClusterName=mmagan-local
SlurmctldHost=$HOST
SlurmUser=$(id -un)
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$DIR/spool/ctld
SlurmdSpoolDir=$DIR/spool/d
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
JobRequeue=1
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=10
NodeName=$HOST CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
}

wait_for_node() {
  for _ in $(seq 1 30); do
    if SLURM_CONF=$CONF sinfo -h -o %t 2>/dev/null | grep -Eq '^(idle|mix|alloc)'; then
      return 0
    fi
    sleep 1
  done
  return 1
}

start() {
  if running munged && running slurmctld && running slurmd; then
    say "already running (SLURM_CONF=$CONF)"
    return
  fi
  install_packages
  write_config
  if ! running munged; then
    munged --force --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.socket" \
      --pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munge.seed"
    say "started munged (pid $(pid_of munged))"
  fi
  if ! running slurmctld; then
    slurmctld -f "$CONF" -i
    sleep 1
    say "started slurmctld (pid $(pid_of slurmctld))"
  fi
  if ! running slurmd; then
    slurmd -f "$CONF"
    sleep 1
    say "started slurmd (pid $(pid_of slurmd))"
  fi
  if wait_for_node; then
    say "node $HOST is up; use it with: export SLURM_CONF=$CONF PATH=$DIR/bin:\$PATH"
  else
    say "the daemons started but node $HOST is not up; see $DIR/log/"
    exit 1
  fi
}

stop() {
  local any=0
  for d in slurmd slurmctld munged; do
    if running "$d"; then
      local pid
      pid=$(pid_of "$d")
      kill "$pid"
      say "stopped $d (pid $pid)"
      any=1
    fi
    rm -f "$DIR/run/$d.pid"
  done
  [ $any -eq 1 ] || say "nothing to stop: no daemon of $DIR is running"
}

status() {
  local all=0
  for d in "${DAEMONS[@]}"; do
    if running "$d"; then say "$d running (pid $(pid_of "$d"))"; else say "$d not running"; all=1; fi
  done
  if [ $all -eq 0 ]; then
    SLURM_CONF=$CONF sinfo
  fi
  return $all
}

case "${1:-status}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
