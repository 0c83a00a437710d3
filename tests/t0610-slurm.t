#!/bin/bash
# The Slurm provider against a real Slurm (tests/lib/slurm.sh): slurmctld and
# one slurmd per simulated node on this machine, munge with its own key.
. "$(dirname "$0")/lib/test-lib.sh"
. "$KRUN_TOP_SRCDIR/tests/lib/slurm.sh"
for p in slurmctld slurmd munged srun salloc scontrol; do
    command -v $p >/dev/null || {
        echo "1..0 # SKIP needs $p (scripts/install-deps --cluster)"
        exit 0
    }
done
cleanup () {
    [ -n "${BROKER_PID:-}" ] && timeout 30 "$KRUN" down --provider slurm >/dev/null 2>&1
    slurm_stop
    test_cleanup
}
trap cleanup EXIT
test_start_broker
test_broker_user krunslurm
if ! slurm_start "$TEST_DIR/slurm" 3 2 >slurm-start.log 2>&1; then
    # As another user than root, slurmd may lack what it needs (its
    # spool, cgroups, the right to start steps as the user): say why.
    [ "$(id -u)" = 0 ] && bail_out "cannot start Slurm: $(tail -n 20 slurm-start.log)"
    echo "1..0 # SKIP cannot start Slurm as $(id -un): $(tail -n 3 slurm-start.log | tr '\n' ' ')"
    exit 0
fi
N=$SLURM_NODE_PREFIX
# The scripts that salloc runs call krun.
export KRUN
test_config <<CFG
idle_timeout: 300
start_timeout: 60
slurm:
  krund: $KRUND
CFG
# What each rank prints: its rank, node and the CPUs it may use.
cat >where.sh <<'SH'
#!/bin/sh
sleep "${1:-0}"
echo "rank $KRUN_RANK on $KRUN_NODE cpus $(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)"
SH
chmod +x where.sh

test_expect_success 'the test cluster: srun -N1 runs a step' '
    timeout 60 srun -N1 true
'
test_expect_success 'salloc -N 2: the allocation has two of the three nodes' '
    timeout 60 salloc -N 2 sh -c "echo \$SLURM_JOB_NODELIST; srun --ntasks-per-node=1 sh -c \"echo \\\$SLURMD_NODENAME\"" >alloc.out 2>alloc.err &&
    head -n 1 alloc.out | grep -qxE "${N}\[[1-3][-,][1-3]\]" &&
    [ "$(tail -n +2 alloc.out | sort | tr "\n" " ")" = \
      "$(scontrol show hostnames "$(head -n 1 alloc.out)" | sort | tr "\n" " ")" ] &&
    [ "$(tail -n +2 alloc.out | wc -l)" -eq 2 ] || { cat alloc.out alloc.err; false; }
'
EXPAND="$KRUN_TOP_BUILDDIR/launcher/slurm/test/nodelist.t"
test_expect_success 'node lists expand as scontrol show hostnames expands them' '
    for list in "n1" "n[1-3,5],gpu[01-02],login" "a[08-10]" "a[8-10]" "a[1-010]" \
        "r[1-2]n[8-10]" "a[1-2],a1" "a,,b" "x-1.y,x-2.y" "n[0-999]" \
        "${N}[1-3]"; do
        scontrol show hostnames "$list" >want || return 1
        "$EXPAND" "$list" >got &&
        cmp -s want got || { echo "differs for $list:"; diff want got; return 1; }
    done
'
test_expect_success 'and so is the node list of a real allocation' '
    timeout 60 salloc -N 3 sh -c "scontrol show hostnames; \"$EXPAND\" \"\$SLURM_JOB_NODELIST\" >got" \
        >want 2>alloc.err &&
    [ "$(wc -l <want)" -eq 3 ] && cmp want got || { cat want got alloc.err; false; }
'
# Inside an allocation of 2 nodes with 1 CPU each: two krun runs, the second
# warm, then the daemons' PIDs, for after the allocation.
cat >in-allocation.sh <<'SH'
#!/bin/sh
echo "nodes $SLURM_JOB_NODELIST cpus $SLURM_JOB_CPUS_PER_NODE"
start=$(date +%s%N)
"$KRUN" -n 4 ./where.sh 1 >run1.out 2>run1.err || exit 1
echo "cold $((($(date +%s%N) - start) / 1000000)) ms"
"$KRUN" status >status.out || exit 1
start=$(date +%s%N)
"$KRUN" -n 4 ./where.sh 1 >run2.out 2>run2.err || exit 1
echo "warm $((($(date +%s%N) - start) / 1000000)) ms"
ps -eo pid=,args= | awk -v n="$SLURM_NODE_PREFIX" '$0 ~ "krund --secrets-stdin --node " n { print $1 }' >daemons
SH
chmod +x in-allocation.sh
test_expect_success 'salloc -N 2 -n 2 krun: a daemon per allocated node, none elsewhere' '
    timeout 120 salloc -N 2 -n 2 ./in-allocation.sh >alloc2.out 2>alloc2.err &&
    cat alloc2.out run1.err status.out run1.out &&
    nodes=$(sed -n "s/^nodes \([^ ]*\) .*/\1/p" alloc2.out) &&
    grep -q "^krun: started 2 worker daemons in Slurm job [0-9]* with srun" run1.err &&
    [ "$(grep -c "^rank" run1.out)" -eq 4 ] &&
    [ "$(sed -n "s/^rank [0-9]* on \([^ ]*\) .*/\1/p" run1.out | sort -u | tr "\n" ,)" = \
      "$(scontrol show hostnames "$nodes" | sort | tr "\n" ,)" ] &&
    [ "$(grep -cE "^[^ ]+ +[0-9]+ " status.out)" -eq 2 ] || { cat alloc2.err; false; }
'
# Each node of the allocation has 1 of its 2 CPUs: its daemon has 1 slot, and
# the tasks may run on that one CPU only.  Slurm confines steps only with
# its cgroup plugin (root, a writable cgroup v1 cpuset hierarchy).
if [ "$SLURM_CONFINED" = yes ]; then
    test_expect_success 'each daemon uses only the allocation'"'"'s CPUs of its node' '
        [ "$(grep -cE "^$N[0-9] +1 " status.out)" -eq 2 ] &&
        [ "$(grep -c "^rank .* cpus [0-9]*$" run1.out)" -eq 4 ]
    '
else
    test_count=$((test_count + 1))
    echo "ok $test_count # skip each daemon uses only the allocation's CPUs: Slurm runs without its cgroup plugin here (not root, or no writable cgroup v1 cpuset)"
fi
test_expect_success 'the second krun in the allocation is warm' '
    [ -f run2.err ] && ! grep -q started run2.err && [ "$(grep -c "^rank" run2.out)" -eq 4 ]
'
grep -E "^(cold|warm) " alloc2.out >&2
# The daemons krun started (and their slots) as seen at the end of the allocation.
all_gone () { for p in $(cat daemons); do process_alive "$p" && return 1; done; return 0; }
test_expect_success 'the daemons go when the allocation ends' '
    [ "$(wc -l <daemons)" -ge 2 ] && wait_for 30 all_gone || { ps -ef | grep krund; false; }
'
cat >down.sh <<'SH'
#!/bin/sh
"$KRUN" -n 2 /bin/true 2>up.err || exit 1
ps -eo args= | grep -c "krund --secrets-stdin --node" >before
"$KRUN" down >down.out || exit 1
i=0
while [ "$(ps -eo args= | grep -c "^[^ ]*krund --secrets-stdin --node $SLURM_NODE_PREFIX")" -gt 0 ]; do
    i=$((i + 1)); [ $i -gt 300 ] && exit 1; sleep 0.1
done
SH
chmod +x down.sh
test_expect_success 'krun down inside the allocation stops its daemons' '
    timeout 120 salloc -N 1 ./down.sh >down-alloc.out 2>&1 &&
    grep -q "^krun: stopped 1 srun step of worker daemons$" down.out || { cat down-alloc.out up.err down.out; false; }
'
test_expect_success 'the URL and the key are on no command line of the step' '
    timeout 120 salloc -N 1 sh -c "\"$KRUN\" -n 1 /bin/true && ps -eo args= >ps.out && \"$KRUN\" down" \
        >ps-alloc.out 2>&1 &&
    grep -q "srun --jobid=.* --input=all" ps.out &&
    grep -q "krund --secrets-stdin --node" ps.out &&
    key=$(cat "$KRUN_STATE_DIR/key") &&
    ! grep -F "$TEST_PASSWORD" ps.out && ! grep -F "$key" ps.out
'
test_expect_success 'outside an allocation: --provider slurm says how to get one' '
    ! env -u SLURM_JOB_ID "$KRUN" --provider slurm -n 1 true 2>outside.err &&
    grep -q "not inside a Slurm allocation (SLURM_JOB_ID is not set): run krun under salloc" outside.err
'
test_done
