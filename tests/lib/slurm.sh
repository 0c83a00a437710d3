# slurm.sh - a private Slurm cluster on this machine for the Slurm provider's
# tests (sourced by bash, after test-lib.sh).
#
#   slurm_start DIR NODES CPUS   start munged (its own key and socket) and
#                            slurmctld + one slurmd per node (NodeName
#                            ${SLURM_NODE_PREFIX}1 .. N, the prefix "kt<pid>n"
#                            unless set, so that tests running at once use
#                            other cgroups; NodeHostname localhost, each its
#                            own port:
#                            Debian's slurm-wlm is built with multiple-slurmd
#                            support) with CPUS CPUs each, all state, logs
#                            and sockets below DIR; exports SLURM_CONF (the
#                            clients' configuration), SLURM_DIR,
#                            SLURM_NODE_PREFIX, SLURM_PIDS (munged,
#                            slurmctld, slurmds) and SLURM_CONFINED (yes
#                            when steps are confined to their CPUs: root
#                            and a writable cgroup v1 cpuset hierarchy,
#                            else no).
#                            Returns non-zero, with the logs' tails on
#                            stderr, if the nodes are not idle within
#                            SLURM_START_TIMEOUT seconds (default 60).
#   slurm_stop               stop them all by PID (TERM, then KILL), and
#                            remove the cgroups the slurmds made.
#
# Nothing of the system's Slurm or munge configuration is used.

slurm_start () {
    local dir=${1:?slurm_start: missing DIR} nodes=${2:-2} cpus=${3:-1}
    local limit=${SLURM_START_TIMEOUT:-60} user port ctld_port i
    for p in munged slurmctld slurmd srun scontrol sinfo; do
        command -v "$p" >/dev/null 2>&1 || {
            echo "slurm.sh: $p not found (apt-get install slurm-wlm munge)" >&2
            return 1
        }
    done
    mkdir -p "$dir" && dir=$(cd "$dir" && pwd) || return 1
    # munged refuses a socket or key directory that others may write.
    chmod 755 "$dir" && mkdir -p -m 700 "$dir/munge" "$dir/state" "$dir/spool" "$dir/log" ||
        return 1
    SLURM_DIR=$dir
    SLURM_NODE_PREFIX=${SLURM_NODE_PREFIX:-kt$$n}
    export SLURM_NODE_PREFIX
    SLURM_PIDS=
    user=$(id -un)
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 2>/dev/null &&
        chmod 400 "$dir/munge/munge.key" || return 1
    # munged forks and writes its pid file; --force: it would refuse to run
    # when another munged owns the system's socket.
    munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/socket" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
        --seed-file="$dir/munge/seed" 2>"$dir/log/munged.err" || {
        cat "$dir/log/munged.err" "$dir/log/munged.log" >&2 2>/dev/null
        return 1
    }
    SLURM_PIDS="$(cat "$dir/munge/munged.pid")"
    export SLURM_DIR SLURM_PIDS
    ctld_port=$(_broker_free_port) || return 1
    # With a writable cgroup v1 cpuset hierarchy (as root), each step is
    # confined to its allocated CPUs like on a real cluster; else tasks see
    # every CPU (task/none).
    local proctrack=proctrack/pgid task_plugin=task/none
    SLURM_CONFINED=no
    if [ -z "${SLURM_NO_CGROUP:-}" ] && [ "$(id -u)" = 0 ] && [ -w /sys/fs/cgroup/cpuset ]; then
        proctrack=proctrack/cgroup task_plugin=task/cgroup,task/affinity
        SLURM_CONFINED=yes
        cat >"$dir/cgroup.conf" <<EOF
CgroupPlugin=cgroup/v1
CgroupMountpoint=/sys/fs/cgroup
ConstrainCores=yes
ConstrainRAMSpace=no
ConstrainDevices=no
EOF
    fi
    cat >"$dir/slurm.conf" <<EOF
ClusterName=krun-test
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=$proctrack
TaskPlugin=$task_plugin
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=10
SchedulerType=sched/builtin
EOF
    for i in $(seq 1 "$nodes"); do
        port=$(_broker_free_port) || return 1
        echo "NodeName=$SLURM_NODE_PREFIX$i NodeHostname=localhost NodeAddr=127.0.0.1 Port=$port CPUs=$cpus State=UNKNOWN" \
            >>"$dir/slurm.conf"
    done
    echo "PartitionName=krun Nodes=ALL Default=YES MaxTime=INFINITE State=UP" >>"$dir/slurm.conf"
    SLURM_CONF=$dir/slurm.conf
    export SLURM_CONF SLURM_CONFINED
    slurmctld -D -i -f "$SLURM_CONF" </dev/null >"$dir/log/slurmctld.out" 2>&1 &
    SLURM_PIDS="$SLURM_PIDS $!"
    for i in $(seq 1 "$nodes"); do
        slurmd -D -N "$SLURM_NODE_PREFIX$i" -f "$SLURM_CONF" </dev/null >"$dir/log/slurmd-$i.out" 2>&1 &
        SLURM_PIDS="$SLURM_PIDS $!"
    done
    export SLURM_PIDS
    for _ in $(seq 1 $((limit * 5))); do
        if [ "$(sinfo -h -o '%t %D' 2>/dev/null)" = "idle $nodes" ]; then
            return 0
        fi
        sleep 0.2
    done
    echo "slurm.sh: the $nodes nodes are not idle after ${limit}s:" >&2
    sinfo >&2 2>&1
    tail -n 15 "$dir"/log/* >&2
    slurm_stop
    return 1
}

slurm_stop () {
    local pid
    [ -n "${SLURM_PIDS:-}" ] || return 0
    # The slurmds and slurmctld first, munged (which they need to talk) last.
    for pid in $(echo "$SLURM_PIDS" | tr ' ' '\n' | tac); do
        stop_pid "$pid"
    done
    SLURM_PIDS=
    # With task/cgroup each slurmd made slurm_NODE in each hierarchy it
    # used; empty once its processes are gone (rmdir removes only empty
    # cgroups, deepest first).
    find /sys/fs/cgroup/*/ -maxdepth 1 -type d -name "slurm_${SLURM_NODE_PREFIX:-none}*" \
        2>/dev/null | while read -r d; do
        find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    return 0
}
