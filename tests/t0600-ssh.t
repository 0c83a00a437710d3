#!/bin/bash
# The ssh provider against a real OpenSSH server (tests/lib/sshd.sh):
# "hosts" that are aliases of loopback addresses, each daemon named after
# its host, started through ssh with the secrets on the session's stdin.
. "$(dirname "$0")/lib/test-lib.sh"
. "$KRUN_TOP_SRCDIR/tests/lib/sshd.sh"
if ! command -v /usr/sbin/sshd >/dev/null || ! command -v ssh >/dev/null; then
    echo "1..0 # SKIP needs openssh-server and openssh-client (scripts/install-deps --cluster)"
    exit 0
fi
# The daemons are stopped through ssh while sshd and the broker still run.
cleanup () {
    [ -n "${SSHD_PID:-}" ] && [ -n "${BROKER_PID:-}" ] &&
        timeout 60 "$KRUN" down --provider ssh >/dev/null 2>&1
    sshd_stop
    test_cleanup
}
trap cleanup EXIT
test_start_broker
test_broker_user krunssh
mkdir -p "$TEST_DIR/sshd" "$TEST_DIR/host1" "$TEST_DIR/host2" "$TEST_DIR/host3"
# host1 and host2 find krund on their PATH, host3 has none; each "host" keeps
# its daemon's files in a directory of its own, as separate machines would.
cat >"$TEST_DIR/sshd/sshd_extra.conf" <<CONF
Match LocalAddress 127.0.0.2
    SetEnv PATH=$KRUN_TOP_BUILDDIR/runtime:/usr/bin:/bin KRUN_STATE_DIR=$TEST_DIR/host1
Match LocalAddress 127.0.0.3
    SetEnv PATH=$KRUN_TOP_BUILDDIR/runtime:/usr/bin:/bin KRUN_STATE_DIR=$TEST_DIR/host2
Match LocalAddress 127.0.0.4
    SetEnv PATH=/usr/bin:/bin KRUN_STATE_DIR=$TEST_DIR/host3
CONF
if ! sshd_start "$TEST_DIR/sshd" host1 host2 host3 >sshd-start.log 2>&1; then
    # As root it must work; another user's sshd may be refused things (a
    # privilege separation directory, other users' logins) that we need.
    [ "$(id -u)" = 0 ] && bail_out "cannot start sshd: $(tail -n 5 sshd-start.log)"
    echo "1..0 # SKIP cannot start sshd as $(id -un): $(tail -n 3 sshd-start.log | tr '\n' ' ')"
    exit 0
fi
# A host whose port refuses connections.
REFUSED_PORT=$(_broker_free_port)
sshd_alias refusing 127.0.0.5 "$REFUSED_PORT"
# The ssh client krun runs, through a wrapper that keeps every command line
# it was given.
cat >ssh-logged <<SH
#!/bin/sh
printf '%s\n' "\$*" >>"$TEST_DIR/ssh-args.log"
exec ssh "\$@"
SH
chmod +x ssh-logged
test_config <<CFG
idle_timeout: 300
start_timeout: 30
ssh:
  ssh_command: $TEST_DIR/ssh-logged -F $SSH_CONFIG
  connect_timeout: 5
CFG
KEY=$(cat "$KRUN_STATE_DIR/key" 2>/dev/null)

# The pid of node's daemon, as krun status lists it.
daemon_pid () { "$KRUN" status --provider ssh | awk -v n="$1" '$1 == n { print $4 }'; }
ranks_on () { sed -n "s/^rank [0-9]* on \(.*\)$/\1/p" "$1" | sort -u | tr '\n' ' '; }

test_expect_success 'the test sshd: each host alias logs in on its own address' '
    for h in host1 host2 host3; do
        ssh -F "$SSH_CONFIG" "$h" "echo \$SSH_CONNECTION" >conn.out &&
        n=${h#host} && grep -q " 127\.0\.0\.$((n + 1)) $SSHD_PORT\$" conn.out || return 1
    done
'
test_expect_success 'a cold run: -H starts one daemon per host through ssh, ranks run on both' '
    start=$(date +%s%N) &&
    "$KRUN" -H host1:2,host2:2 -n 4 sh -c "sleep 1; echo rank \$KRUN_RANK on \$KRUN_NODE" \
        >cold.out 2>cold.err &&
    echo "cold run: $((($(date +%s%N) - start) / 1000000)) ms" >>timings &&
    cat cold.err &&
    grep -q "^krun: started 2 worker daemons through ssh" cold.err &&
    [ "$(grep -c "^rank" cold.out)" -eq 4 ] &&
    [ "$(ranks_on cold.out)" = "host1 host2 " ] &&
    [ -s "$KRUN_STATE_DIR/ssh-host1.krund" ] && [ -s "$KRUN_STATE_DIR/ssh-host2.krund" ]
'
test_expect_success 'each daemon is named after its host, has the slots asked, logs on its host' '
    "$KRUN" status --provider ssh >status.out && cat status.out &&
    grep -qE "^host1 +2 " status.out && grep -qE "^host2 +2 " status.out &&
    [ -s "$TEST_DIR/host1/krund/krund-host1.log" ] || ls -R "$TEST_DIR/host1"
    [ -s "$TEST_DIR/host1/krund/krund-host1.log" ]
'
test_expect_success 'a warm run: the daemons are found, none is started' '
    pid1=$(daemon_pid host1) && pid2=$(daemon_pid host2) && [ -n "$pid1" ] &&
    start=$(date +%s%N) &&
    "$KRUN" -H host1:2,host2:2 -n 4 sh -c "sleep 1; echo rank \$KRUN_RANK on \$KRUN_NODE" \
        >warm.out 2>warm.err &&
    echo "warm run: $((($(date +%s%N) - start) / 1000000)) ms" >>timings &&
    ! grep -q started warm.err && [ "$(grep -c "^rank" warm.out)" -eq 4 ] &&
    [ "$(daemon_pid host1)" = "$pid1" ] && [ "$(daemon_pid host2)" = "$pid2" ]
'
test_expect_success 'another slot count: the warm daemon is restarted with it' '
    pid1=$(daemon_pid host1) && pid2=$(daemon_pid host2) &&
    "$KRUN" -H host1:3,host2:2 -n 2 true 2>slots.err && cat slots.err &&
    grep -q "^krun: restarting the daemon of host host1 with 3 slots (had 2)$" slots.err &&
    "$KRUN" status --provider ssh >status3.out &&
    grep -qE "^host1 +3 " status3.out && [ "$(daemon_pid host2)" = "$pid2" ] &&
    ! process_alive "$pid1" &&
    "$KRUN" -H host1:2,host2:2 -n 2 true 2>slots2.err &&
    grep -q "^krun: restarting the daemon of host host1 with 2 slots (had 3)$" slots2.err
'
test_expect_success 'only the given hosts take part: -H host1 runs nothing on host2' '
    "$KRUN" -H host1 -n 4 sh -c "sleep 1; echo rank \$KRUN_RANK on \$KRUN_NODE" >one.out &&
    [ "$(ranks_on one.out)" = "host1 " ]
'
test_expect_success 'a host that refuses the connection: one line, the job runs on the others' '
    "$KRUN" -H host1:2,refusing,host2:2 -n 4 sh -c "sleep 1; echo rank \$KRUN_RANK on \$KRUN_NODE" \
        >ref.out 2>ref.err &&
    cat ref.err &&
    [ "$(grep -c "^krun: host refusing:" ref.err)" -eq 1 ] &&
    grep -q "^krun: host refusing: ssh: connect to host 127.0.0.5 port $REFUSED_PORT: Connection refused$" ref.err &&
    [ "$(grep -c "^rank" ref.out)" -eq 4 ] && [ "$(ranks_on ref.out)" = "host1 host2 " ]
'
test_expect_success 'a host without krund: one line with the shell'"'"'s error, the job runs' '
    "$KRUN" -H host1:2,host3:2 -n 4 sh -c "sleep 1; echo rank \$KRUN_RANK on \$KRUN_NODE" \
        >nok.out 2>nok.err &&
    cat nok.err &&
    [ "$(grep -c "^krun: host host3:" nok.err)" -eq 1 ] &&
    grep -q "^krun: host host3: .*krund: .*not found" nok.err &&
    [ "$(ranks_on nok.out)" = "host1 " ]
'
test_expect_success '--require-all-hosts: a host that cannot start fails the run, nothing runs' '
    ! "$KRUN" -H host1:2,host3:2 --require-all-hosts -n 4 \
        sh -c "echo rank \$KRUN_RANK" >req.out 2>req.err &&
    cat req.err &&
    grep -q "^krun: host host3: " req.err &&
    grep -q "1 of 2 hosts could not start a daemon (--require-all-hosts)" req.err &&
    ! grep -q "^rank" req.out
'
test_expect_success 'a host file, Open MPI and MPICH lines' '
    printf "# two hosts\nhost1 slots=2\nhost2:2\n" >hosts &&
    "$KRUN" --hostfile hosts -n 4 sh -c "sleep 1; echo rank \$KRUN_RANK on \$KRUN_NODE" >hf.out &&
    [ "$(ranks_on hf.out)" = "host1 host2 " ]
'
test_expect_success 'a bad host file: the file and line named, exit 1' '
    printf "host1\nhost2 slots=many\n" >bad-hosts &&
    test_expect_code 1 "$KRUN" --hostfile bad-hosts -n 1 true 2>bad.err &&
    grep -q "^krun: bad-hosts:2: cannot read .slots=many. after host host2" bad.err
'
# Every process's arguments, sampled while a cold start runs.
sample_ps () {
    while process_alive "$1"; do ps -eo args; sleep 0.05; done >ps.out
}
test_expect_success 'the broker URL and the key are in no process'"'"'s arguments' '
    "$KRUN" down --provider ssh >/dev/null &&
    "$KRUN" -H host1:2,host2:2 -n 2 true >ps-run.out 2>&1 &
    run=$!
    sample_ps $run && wait $run &&
    key=$(cat "$KRUN_STATE_DIR/key") && [ ${#key} -ge 32 ] &&
    grep -q "krund --secrets-stdin --detach --node host" ssh-args.log &&
    ! grep -F "$TEST_PASSWORD" ssh-args.log && ! grep -F "$key" ssh-args.log &&
    grep -q "^ssh -F .* host1 krund --secrets-stdin" ps.out &&
    ! grep -F "$TEST_PASSWORD" ps.out && ! grep -F "$key" ps.out
'
test_expect_success 'nor in the environment of the daemons and their slots' '
    for p in $(daemon_pid host1) $(daemon_pid host2); do
        for q in $p $(ps -o pid= --ppid $p); do
            ! tr "\0" "\n" </proc/$q/environ | grep -F "$TEST_PASSWORD" ||
                { echo "process $q has the password in its environment"; return 1; }
        done
    done
'
cat >work.sh <<'SH'
#!/bin/sh
sleep 1
echo "done rank=$KRUN_RANK node=$KRUN_NODE attempt=$KRUN_ATTEMPT"
SH
chmod +x work.sh
test_expect_success 'kill -9 of one remote daemon mid-run: no rank is lost' '
    "$KRUN" -H host1:2,host2:2 -n 24 --timeline kill.csv ./work.sh >kill.out 2>kill.err &
    run=$!
    sleep 2.5 && victim=$(daemon_pid host1) && [ -n "$victim" ] &&
    kill -9 "$victim" &&
    wait $run &&
    [ "$(sed -n "s/^done rank=\([0-9]*\) .*/\1/p" kill.out | sort -un | wc -l)" -eq 24 ] &&
    timeline_one_result_per_rank kill.csv 24 &&
    grep -q "attempt=2" kill.out ||
        { cat kill.err; false; }
'
test_expect_success 'the next run starts the killed host'"'"'s daemon again' '
    "$KRUN" -H host1:2,host2:2 -n 4 sh -c "sleep 1; echo rank \$KRUN_RANK on \$KRUN_NODE" \
        >again.out 2>again.err &&
    grep -q "^krun: started 1 worker daemon through ssh" again.err &&
    [ "$(ranks_on again.out)" = "host1 host2 " ] ||
        { cat again.err; "$KRUN" status --provider ssh; false; }
'
test_expect_success 'krun down stops the daemons through ssh' '
    pid1=$(daemon_pid host1) && pid2=$(daemon_pid host2) && [ -n "$pid1" ] &&
    "$KRUN" down --provider ssh >down.out && cat down.out &&
    grep -q "^krun: stopped 2 worker daemons through ssh$" down.out &&
    wait_for 20 eval "! process_alive $pid1 && ! process_alive $pid2" &&
    ! ls "$KRUN_STATE_DIR"/ssh-*.krund 2>/dev/null
'
test_expect_success 'krun up -H starts them, krun down -H stops them' '
    "$KRUN" up -H host1:2,host2:2 2>up.err && cat up.err &&
    grep -q "^krun: started 2 worker daemons through ssh" up.err &&
    pid1=$(daemon_pid host1) && pid2=$(daemon_pid host2) && [ -n "$pid1" ] && [ -n "$pid2" ] &&
    "$KRUN" down -H host1,host2 >down2.out && cat down2.out &&
    grep -q "^krun: stopped 2 worker daemons through ssh$" down2.out &&
    wait_for 20 eval "! process_alive $pid1 && ! process_alive $pid2"
'
test_expect_success 'without a broker the hosts can reach: a clear error' '
    test_expect_code 1 env -u KRUN_AMQP_URL "$KRUN" -H host1 -n 1 true 2>nobroker.err &&
    grep -q "the ssh provider needs a broker its hosts can reach" nobroker.err
'
cat timings >&2
test_done
