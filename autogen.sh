#!/bin/sh
# Regenerate the autotools files after a fresh clone.
set -e
cd "$(dirname "$0")"
autoreconf --install --force --verbose >/dev/null
echo "autogen.sh: now run ./configure && make"
