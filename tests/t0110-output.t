#!/bin/bash
# Output streams back whole lines, never two ranks in one line.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 120
local:
  slots: 8
CFG

cat >lines.sh <<'SH'
#!/bin/sh
# 2000 long lines per rank, written in pieces so that pipes split them.
i=0
while [ $i -lt 2000 ]; do
    printf 'rank %s line %s ' "$KRUN_RANK" "$i"
    printf 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx end\n'
    i=$((i + 1))
done
echo "to stderr from $KRUN_RANK" >&2
printf 'no newline at the end from %s' "$KRUN_RANK"
SH
chmod +x lines.sh

test_expect_success 'every line of 8 concurrent ranks arrives intact' '
    "$KRUN" -n 8 ./lines.sh >out 2>err &&
    [ "$(grep -c "^rank [0-7] line [0-9]* x*x end$" out)" -eq 16000 ] &&
    [ "$(grep -c "^no newline at the end from [0-7]$" out)" -eq 8 ] &&
    [ "$(grep -c "" out)" -eq 16008 ] && [ "$(wc -l <out)" -eq 16007 ] &&
    [ "$(tail -c 1 out)" != "" ] && tail -n 1 out | grep -q "^no newline at the end from [0-7]$"
'
test_expect_success 'stderr goes to stderr' '
    [ "$(grep -c "^to stderr from [0-7]$" err)" -eq 8 ]
'
test_expect_success '--tag-output prefixes each line with its rank' '
    "$KRUN" -n 4 --tag-output ./lines.sh >tagged 2>/dev/null &&
    [ "$(grep -c "^\[\([0-3]\)\] rank \1 line [0-9]* x*x end$" tagged)" -eq 8000 ] &&
    [ "$(grep -c "" tagged)" -eq 8004 ]
'
test_expect_success 'a line longer than one output chunk stays whole' '
    "$KRUN" -n 2 --tag-output /bin/sh -c "head -c 200000 /dev/zero | tr \"\\0\" a; echo" >long &&
    [ "$(wc -l <long)" -eq 2 ] &&
    awk "{ if (\$0 !~ /^\[[01]\] a+\$/ || length(\$0) != 200004) exit 1 }" long
'
test_expect_success 'binary output passes unchanged' '
    head -c 100000 /dev/urandom >blob &&
    "$KRUN" -n 1 /bin/cat "$TEST_DIR/blob" >blob.out &&
    { cmp blob blob.out || { [ "$(tail -c 1 blob | od -An -c | tr -d " ")" != "\\n" ] &&
      head -c 100000 blob.out | cmp - blob; }; }
'
test_done
