#!/bin/bash
# Slots follow what the daemon may really run on (its affinity mask, as
# taskset or a container runtime sets it), and --report-bindings reports the
# binding each slot really got, as the task itself sees it.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 120
CFG

cat >cpus.sh <<'SH'
#!/bin/sh
sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status
SH
chmod +x cpus.sh

test_expect_success 'a daemon started under taskset -c 0 has one slot, bound to cpu 0' '
    taskset -c 0 "$KRUN" up &&
    "$KRUN" status >status && cat status &&
    grep -q "^$(hostname) *1 " status &&
    "$KRUN" -n 1 --report-bindings ./cpus.sh >out 2>err && cat out err &&
    [ "$(cat out)" = 0 ] &&
    grep -q "^krun: slot 0: node $(hostname) local 0 core 0$" err &&
    grep -q "serving 1 slots on 1 cores of cpus 0 (pid" "$KRUN_STATE_DIR"/krund-*.log
'
test_expect_success 'the rank line gives the cpus the task really had' '
    grep -q "^krun: rank 0 ran on node $(hostname) slot 0 local 0 cpus 0 (attempt 1)$" err
'
test_expect_success 'unbound slots (a loaded topology) say unbound, not core -1' '
    "$KRUN" down &&
    printf "idle_timeout: 120\nlocal:\n  nodes:\n    - name: synth\n      slots: 2\n      topology: \"core:2 pu:1\"\n" |
        test_config &&
    "$KRUN" -n 2 --report-bindings /bin/true 2>err2 && cat err2 &&
    [ "$(grep -c "^krun: rank [01] ran on node synth slot [01] local [01] unbound (attempt 1)$" err2)" -eq 2 ] &&
    ! grep -q "core unbound\|core -1" err2
'
test_done
