#!/bin/bash
# Command files (krun -f), {rank} and {size} in arguments, and the
# environment that travels to the tasks (-x).
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 120
local:
  slots: 3
CFG

test_expect_success '-f: each line runs with /bin/sh -c, rank = line number - 1' '
    cat >jobs.txt <<-\JOBS &&
	echo "first rank=$KRUN_RANK size=$KRUN_SIZE"
	echo second | tr a-z A-Z
	x=3; echo "third $((x * 2))"

	echo "fifth > quoted"
	JOBS
    "$KRUN" -f jobs.txt --tag-output >out &&
    grep -qx "\[0\] first rank=0 size=5" out &&
    grep -qx "\[1\] SECOND" out &&
    grep -qx "\[2\] third 6" out &&
    grep -qx "\[4\] fifth > quoted" out &&
    [ "$(wc -l <out)" -eq 4 ]
'
test_expect_success '-f: the highest exit status of the lines is krun'"'"'s' '
    printf "true\\nexit 3\\nexit 1\\n" >codes.txt &&
    test_expect_code 3 "$KRUN" -f codes.txt
'
test_expect_success '-f with a PROGRAM, or with a wrong -n, is refused' '
    test_expect_code 2 "$KRUN" -f jobs.txt /bin/echo 2>err1 &&
    grep -q "the command file replaces PROGRAM" err1 &&
    test_expect_code 2 "$KRUN" -n 2 -f jobs.txt 2>err2 &&
    grep -q "jobs.txt has 5 entries but 2 ranks" err2
'
test_expect_success '{rank} and {size} in arguments and in command lines' '
    "$KRUN" -n 3 /bin/echo "in.{rank}.of.{size}" "{rank}{rank}" >ph &&
    for r in 0 1 2; do grep -qx "in.$r.of.3 $r$r" ph || exit 1; done &&
    printf "echo a{rank}\\necho b{size}\\n" >ph.txt &&
    "$KRUN" -f ph.txt >phf && grep -qx a0 phf && grep -qx b2 phf
'
test_expect_success 'default environment: broker settings and host-specific variables stay home' '
    DISPLAY=:7 SSH_AUTH_SOCK=/tmp/agent MY_SETTING=kept KRUN_CONFIG_X=also \
        "$KRUN" -n 1 /bin/sh -c "env" >env0 &&
    grep -qx "MY_SETTING=kept" env0 && grep -qx "KRUN_CONFIG_X=also" env0 &&
    ! grep -q "^DISPLAY=" env0 && ! grep -q "^SSH_AUTH_SOCK=" env0 &&
    ! grep -q "^KRUN_AMQP_URL=" env0 && ! grep -q "amqp://" env0
'
test_expect_success 'HOME is the daemon'"'"'s (writable for it), not the launcher'"'"'s, unless -x HOME' '
    "$KRUN" -n 1 /bin/true &&
    mkdir -p elsewhere &&
    HOME="$PWD/elsewhere" "$KRUN" -n 1 /bin/sh -c "echo \$HOME" >home0 &&
    [ "$(cat home0)" = "$HOME" ] &&
    HOME="$PWD/elsewhere" "$KRUN" -n 1 -x HOME /bin/sh -c "echo \$HOME" >home1 &&
    [ "$(cat home1)" = "$PWD/elsewhere" ]
'
test_expect_success '-x VAR sends a host-specific variable, -x VAR=value sets one' '
    DISPLAY=:7 MY_SETTING=launcher "$KRUN" -n 2 -x DISPLAY -x MY_SETTING=override \
        -x NEW_ONE=a=b /bin/sh -c "echo \$DISPLAY \$MY_SETTING \$NEW_ONE" >envx &&
    [ "$(grep -cx ":7 override a=b" envx)" -eq 2 ]
'
test_expect_success '-x of a broker setting or an unset variable is refused' '
    test_expect_code 2 "$KRUN" -n 1 -x KRUN_AMQP_URL /bin/true 2>errx &&
    grep -q "never leave the launcher" errx &&
    test_expect_code 2 "$KRUN" -n 1 -x NOT_SET_ANYWHERE /bin/true 2>erru &&
    grep -q "NOT_SET_ANYWHERE is not set" erru
'
test_done
