#!/bin/bash
# make install DESTDIR=...: binaries, library, header, pkg-config file and
# manual pages land where they belong, and a program outside the tree builds
# against the installed krun.pc and runs under krun.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 120
local:
  slots: 2
CFG
DEST="$TEST_DIR/dest"

test_expect_success 'make install DESTDIR=... succeeds' '
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
        make -s -C "$KRUN_TOP_BUILDDIR" install DESTDIR="$DEST" >install.log 2>&1 ||
        { tail -n 20 install.log; exit 1; }
'
PC=$(find "$DEST" -name krun.pc 2>/dev/null | head -n 1)
PREFIX=$(sed -n "s/^prefix=//p" "$PC" 2>/dev/null)
test_expect_success 'binaries, library, header, pkg-config file, manual pages' '
    [ -n "$PC" ] && [ -n "$PREFIX" ] &&
    [ -x "$DEST$PREFIX/bin/krun" ] && [ -x "$DEST$PREFIX/sbin/krund" ] &&
    [ -x "$DEST$PREFIX/libexec/krun/krun-tls" ] &&
    ls "$DEST$PREFIX"/lib*/libkrun.so.0* >/dev/null &&
    [ -f "$DEST$PREFIX/include/krun/krun.h" ] &&
    [ -f "$DEST$PREFIX/share/man/man1/krun.1" ] &&
    [ -f "$DEST$PREFIX/share/man/man8/krund.8" ] &&
    grep -q "^Libs: -L\${libdir} -lkrun$" "$PC"
'
test_expect_success 'the installed library needs no broker library' '
    lib=$(ls "$DEST$PREFIX"/lib*/libkrun.so.0 | head -n 1) &&
    ! readelf -d "$lib" | grep NEEDED | grep -q -e rabbitmq -e cjson -e hwloc
'
test_expect_success 'the installed krun hands an amqps:// broker to the installed krun-tls' '
    port=$(broker_free_port) &&
    test_expect_code 2 env KRUN_AMQP_URL="amqps://u:p@127.0.0.1:$port/" \
        "$DEST$PREFIX/bin/krun" -n 1 /bin/true 2>tls.err &&
    grep -q "cannot connect to broker amqps://u:\*\*\*@127.0.0.1:$port/" tls.err &&
    ! grep -q "krun-tls" tls.err || { cat tls.err; false; }
'
test_expect_success 'the manual pages are valid roff' '
    groff -man -ww -z "$DEST$PREFIX/share/man/man1/krun.1" 2>groff.err &&
    groff -man -ww -z "$DEST$PREFIX/share/man/man8/krund.8" 2>>groff.err &&
    [ ! -s groff.err ] &&
    man -l "$DEST$PREFIX/share/man/man1/krun.1" 2>/dev/null | grep -q "\-\-inputs FILE"
'
test_expect_success 'an outside program builds against the installed krun.pc' '
    mkdir outside && cat >outside/task.c <<-C &&
	#include <stdio.h>
	#include <krun/krun.h>
	int main (void) {
	    const void *in;
	    size_t len;
	    if (krun_init () < 0 || krun_input (&in, &len) < 0)
	        return 1;
	    char out[64];
	    int n = snprintf (out, sizeof (out), "%d/%d:%s", krun_rank (), krun_size (),
	                      (const char *)in);
	    krun_result (out, (size_t)n);
	    return krun_finalize ();
	}
	C
    flags=$(PKG_CONFIG_PATH="$(dirname "$PC")" PKG_CONFIG_SYSROOT_DIR="$DEST" \
            pkg-config --cflags --libs krun) &&
    echo "$flags" | grep -q -- "-I$DEST$PREFIX/include" &&
    ${CC:-cc} $TASK_CFLAGS outside/task.c -o outside/task $flags &&
    [ -x outside/task ]
'
test_expect_success 'and runs under krun, with the installed library' '
    printf "a\\nb\\nc\\n" >abc &&
    libdir=$(dirname "$(ls "$DEST$PREFIX"/lib*/libkrun.so.0 | head -n 1)") &&
    LD_LIBRARY_PATH="$libdir" "$KRUN" --inputs abc --results res outside/task &&
    [ "$(cat res/0)" = "0/3:a" ] && [ "$(cat res/1)" = "1/3:b" ] && [ "$(cat res/2)" = "2/3:c" ]
'
test_expect_success 'krun --version shows the protocol version; --help its groups' '
    "$KRUN" --version | grep -qx "krun [0-9.]* (protocol 1)" &&
    "$KRUN" --help >help &&
    for g in "Job:" "Data in and out" "Environment:" "Output and reports:" \
             "Limits, retries, logs:" "Workers (local provider):" "Configuration:"; do
        grep -q "^$g" help || { echo "no group $g"; exit 1; }
        grep -q "^\\.S[SH] \"*${g%%:*}" "$KRUN_TOP_SRCDIR/docs/man/krun.1" ||
            { echo "krun.1 has no section $g"; exit 1; }
    done
'
test_done
