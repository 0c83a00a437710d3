# examples/: small task programs, used by the README and the tests.  All
# but hello use the task API (include/krun/krun.h, libkrun).
noinst_PROGRAMS += examples/hello examples/rank examples/sweep examples/progress
examples_hello_SOURCES = examples/hello.c
examples_rank_SOURCES = examples/rank.c
examples_rank_LDADD = libkrun/libkrun.la
examples_sweep_SOURCES = examples/sweep.c
examples_sweep_LDADD = libkrun/libkrun.la
examples_progress_SOURCES = examples/progress.c
examples_progress_LDADD = libkrun/libkrun.la
# Real executables, not libtool wrapper scripts: the tests run them as tasks.
examples_rank_LDFLAGS = -no-install
examples_sweep_LDFLAGS = -no-install
examples_progress_LDFLAGS = -no-install
