#!/bin/bash
# krun -n N: every rank runs exactly once and sees the right variables.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 120
CFG

cat >task.sh <<'SH'
#!/bin/sh
echo "rank=$KRUN_RANK size=$KRUN_SIZE local=$KRUN_LOCAL_RANK node=$KRUN_NODE slot=$KRUN_SLOT job=$KRUN_JOB_ID attempt=$KRUN_ATTEMPT"
SH
chmod +x task.sh

# check N SLOTS: every rank 0..N-1 printed exactly once, with consistent values
check_ranks () {
    local n=$1 slots=$2 out=$3
    [ "$(grep -c '^rank=' "$out")" -eq "$n" ] || { echo "expected $n lines"; return 1; }
    [ "$(sed -n 's/^rank=\([0-9]*\) .*/\1/p' "$out" | sort -n | uniq | wc -l)" -eq "$n" ] ||
        { echo "ranks not unique"; return 1; }
    [ "$(sed -n 's/^rank=\([0-9]*\) .*/\1/p' "$out" | sort -n | tail -n 1)" -eq $((n - 1)) ] ||
        { echo "highest rank is not $((n - 1))"; return 1; }
    ! grep -v " size=$n " "$out" | grep -q . || { echo "wrong KRUN_SIZE"; return 1; }
    ! grep -v " node=$(hostname) " "$out" | grep -q . || { echo "wrong KRUN_NODE"; return 1; }
    ! grep -v " attempt=1$" "$out" | grep -q . || { echo "wrong KRUN_ATTEMPT"; return 1; }
    [ "$(sed 's/.* job=\([^ ]*\) .*/\1/' "$out" | sort -u | wc -l)" -eq 1 ] ||
        { echo "ranks saw different job ids"; return 1; }
    awk -v slots="$slots" '{
        split($3, l, "="); split($5, s, "=");
        if (l[2] != s[2] || s[2] < 0 || s[2] >= slots) { print "bad slot: " $0; exit 1 }
    }' "$out"
}

test_expect_success 'krun -n 1 runs one rank' '
    "$KRUN" -n 1 ./task.sh >out1 &&
    check_ranks 1 2 out1
'
test_expect_success 'the first run started one local daemon, and said so' '
    "$KRUN" status >status && grep -q "^$(hostname) " status
'
test_expect_success 'krun -n 8 with 2 slots runs every rank once (ranks queue up)' '
    "$KRUN" -n 8 ./task.sh >out8 2>err8 &&
    check_ranks 8 2 out8
'
test_expect_success 'krun -n 225 --slots 225 runs every rank once' '
    "$KRUN" -n 225 --slots 225 ./task.sh >out225 2>err225 &&
    check_ranks 225 225 out225 &&
    grep -q "restarting the daemon" err225
'
test_expect_success 'arguments reach the program unchanged' '
    "$KRUN" -n 2 --slots 225 /bin/sh -c "printf \"<%s>\\n\" \"\$@\"" sh "a b" "" "q\"uote" >args &&
    [ "$(grep -c "^<a b>$" args)" -eq 2 ] &&
    [ "$(grep -c "^<>$" args)" -eq 2 ] &&
    [ "$(grep -c "^<q\"uote>$" args)" -eq 2 ]
'
test_expect_success 'tasks run in the launcher'"'"'s directory with its environment' '
    mkdir -p sub && cd sub &&
    MY_VAR="hello world" "$KRUN" -n 1 --slots 225 /bin/sh -c "pwd; echo \"\$MY_VAR\"" >../cwd &&
    cd .. && grep -qx "$TEST_DIR/sub" cwd && grep -qx "hello world" cwd
'
test_expect_success 'the broker password does not reach the tasks' '
    "$KRUN" -n 1 --slots 225 /usr/bin/env >envout &&
    ! grep -q KRUN_AMQP_URL envout && ! grep -q guest envout
'
test_expect_success 'nor through /proc: the environ of their slot and of krund' '
    cat >procenv.sh <<-\SH &&
	#!/bin/sh
	daemon=$(sed -n "s/^PPid:[[:space:]]*//p" /proc/$PPID/status)
	echo "slot=$PPID daemon=$daemon"
	tr "\0" "\n" </proc/$PPID/environ
	tr "\0" "\n" </proc/$daemon/environ
	SH
    chmod +x procenv.sh &&
    password=$(printf "%s" "$KRUN_AMQP_URL" | sed -n "s|^amqps\?://[^:]*:\([^@]*\)@.*|\1|p") &&
    [ -n "$password" ] &&
    "$KRUN" -n 1 --slots 225 ./procenv.sh >procenv && cat procenv &&
    grep -q "^PATH=" procenv &&
    ! grep -q -F "$password" procenv && ! grep -q "KRUN_AMQP_URL=." procenv
'
test_expect_success 'examples/hello reports node, slot and cpu' '
    "$KRUN" -n 3 --slots 225 "$HELLO" >hello &&
    [ "$(grep -c "^hello from rank [0-2] of 3 on node $(hostname), slot [0-9]*, cpu [0-9]*$" hello)" -eq 3 ]
'
test_expect_success 'a finished job leaves no queue behind' '
    "$KRUN" -n 4 --slots 225 /bin/true &&
    wait_for 5 no_job_queues
'
test_done
