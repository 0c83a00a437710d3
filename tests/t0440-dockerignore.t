#!/bin/bash
# .dockerignore: the image's build context holds the sources and nothing a
# build makes.  Checked against git (every tracked file is sent, nothing
# else is) and against the build tree this test runs in (every file the
# build made is left out), with Docker's matching rules: patterns anchored
# at the context's root, `*` and `?` within a path component, `**` across
# them, `!` re-includes, the last matching line wins, and a pattern that
# matches a directory excludes all below it.
. "$(dirname "$0")/lib/test-lib.sh"

SRC=$KRUN_TOP_SRCDIR
cat >match.py <<'PY'
import re, sys

def regex(pattern):
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"; i += 3
        elif pattern.startswith("**", i):
            out += ".*"; i += 2
        elif pattern[i] == "*":
            out += "[^/]*"; i += 1
        elif pattern[i] == "?":
            out += "[^/]"; i += 1
        else:
            out += re.escape(pattern[i]); i += 1
    return re.compile("^" + out + "(?:/.*)?$")

rules = []
for line in open(sys.argv[1]):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    neg = line.startswith("!")
    rules.append((neg, regex(line.lstrip("!").strip("/"))))

def excluded(path):
    out = False
    for neg, rx in rules:
        if rx.match(path):
            out = not neg
    return out

for path in sys.stdin.read().split("\0"):
    if path:
        print(("excluded " if excluded(path) else "sent ") + path)
PY

# A release tarball has no git to say what the sources are: a TAP skip.
if ! git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
    echo "1..0 # SKIP $SRC is not a git checkout"
    exit 0
fi
test_expect_success 'every file git tracks is sent' '
    git -C "$SRC" ls-files -z | python3 match.py "$SRC/.dockerignore" >tracked &&
    [ "$(grep -c "^sent " tracked)" -gt 100 ] &&
    ! grep "^excluded " tracked
'
test_expect_success 'every file the build made (git-ignored) is left out, .git too' '
    git -C "$SRC" ls-files -z --others --ignored --exclude-standard |
        python3 match.py "$SRC/.dockerignore" >built &&
    grep -q "^excluded runtime/krund$" built &&
    grep -q "^excluded launcher/krun$" built &&
    grep -q "^excluded config.status$" built &&
    ! grep "^sent " built &&
    printf ".git/HEAD\\0.git/objects/ab/cdef\\0runtime/.libs/libkrunrt.so\\0a/b/c.o\\0" |
        python3 match.py "$SRC/.dockerignore" >fixed &&
    [ "$(grep -c "^excluded " fixed)" -eq 4 ]
'
test_expect_success 'new sources anywhere are sent (the list names outputs, not sources)' '
    printf "runtime/new.c\\0launcher/new.h\\0tests/t9999-new.t\\0docs/new.md\\0config/.keep\\0" |
        python3 match.py "$SRC/.dockerignore" >new &&
    ! grep "^excluded " new
'
test_expect_success 'the runtime image drops headers, .la, .pc files and man pages' '
    sed -n "/^FROM .* AS build/,/^FROM /p" "$SRC/deploy/Dockerfile" >build-stage &&
    grep -q "make install DESTDIR=/out" build-stage &&
    grep -q "rm -rf /out/usr/include /out/usr/lib/pkgconfig /out/usr/share/man" build-stage &&
    grep -q "find /out -name .\*\.la. -delete" build-stage &&
    rm -rf inst && make -s -C "$KRUN_TOP_BUILDDIR" install DESTDIR="$PWD/inst" prefix=/usr >/dev/null &&
    [ -e inst/usr/include/krun/krun.h ] &&
    rm -rf inst/usr/include inst/usr/lib/pkgconfig inst/usr/share/man &&
    find inst -name "*.la" -delete &&
    [ -z "$(find inst -name "*.h" -o -name "*.la" -o -name "*.pc" -o -name "*.[18]")" ] &&
    [ -x inst/usr/sbin/krund ] && [ -x inst/usr/bin/krun ] && [ -e inst/usr/lib/libkrun.so.0 ]
'
test_done
