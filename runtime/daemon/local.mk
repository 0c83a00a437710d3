# runtime/daemon/: krund's own files (the daemon, its slots and their
# tasks), on top of runtime/lib/.  The program stays runtime/krund.
sbin_PROGRAMS += runtime/krund
runtime_krund_SOURCES = \
	runtime/daemon/krund.c \
	runtime/daemon/detach.c runtime/daemon/detach.h \
	runtime/daemon/daemon.c runtime/daemon/daemon.h \
	runtime/daemon/slot.c runtime/daemon/slot.h \
	runtime/daemon/taskenv.c runtime/daemon/taskenv.h \
	runtime/daemon/taskoutput.c runtime/daemon/taskoutput.h \
	runtime/daemon/disposition.c runtime/daemon/disposition.h \
	runtime/daemon/slotstate.c runtime/daemon/slotstate.h \
	runtime/daemon/relay.c runtime/daemon/relay.h \
	runtime/daemon/task.c runtime/daemon/task.h \
	runtime/daemon/reaper.c runtime/daemon/reaper.h \
	runtime/daemon/cgroup.c runtime/daemon/cgroup.h \
	runtime/daemon/taskchannel.c runtime/daemon/taskchannel.h \
	runtime/daemon/joblist.c runtime/daemon/joblist.h \
	runtime/daemon/heldresults.c runtime/daemon/heldresults.h
runtime_krund_CFLAGS = $(RUNTIME_CFLAGS)
runtime_krund_LDADD = $(KRUNRT_LIBS)
# Symbols bound at start (BIND_NOW): the daemon resolves every one once, and
# the slots it forks inherit the bound tables instead of each resolving the
# same symbols again and copying the pages they write them to.  With slot.c's
# fixed mmap threshold: about 7 % less krund CPU over a cold start of
# 2,048 slots (benchmarks/PROFILE.md, "Stop 19").
runtime_krund_LDFLAGS = -Wl,-z,now

# Unit tests, next to the code.
DAEMON_UNIT_TESTS = \
	runtime/daemon/test/relay.t \
	runtime/daemon/test/task.t \
	runtime/daemon/test/reaper.t \
	runtime/daemon/test/cgroup.t \
	runtime/daemon/test/taskchannel.t \
	runtime/daemon/test/slotstate.t \
	runtime/daemon/test/joblist.t \
	runtime/daemon/test/taskenv.t \
	runtime/daemon/test/taskoutput.t \
	runtime/daemon/test/disposition.t \
	runtime/daemon/test/heldresults.t
check_PROGRAMS += $(DAEMON_UNIT_TESTS)
TESTS += $(DAEMON_UNIT_TESTS)
runtime_daemon_test_task_t_SOURCES = runtime/daemon/test/task.c runtime/daemon/task.c \
	runtime/daemon/task.h
runtime_daemon_test_task_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_daemon_test_task_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_daemon_test_reaper_t_SOURCES = runtime/daemon/test/reaper.c \
	runtime/daemon/reaper.c runtime/daemon/reaper.h
runtime_daemon_test_reaper_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_daemon_test_reaper_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_daemon_test_cgroup_t_SOURCES = runtime/daemon/test/cgroup.c \
	runtime/daemon/cgroup.c runtime/daemon/cgroup.h \
	runtime/daemon/reaper.c runtime/daemon/reaper.h
runtime_daemon_test_cgroup_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_daemon_test_cgroup_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_daemon_test_relay_t_SOURCES = runtime/daemon/test/relay.c \
	runtime/daemon/relay.c runtime/daemon/relay.h
runtime_daemon_test_relay_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_daemon_test_relay_t_LDADD = tests/libtap.la
runtime_daemon_test_taskchannel_t_SOURCES = runtime/daemon/test/taskchannel.c \
	runtime/daemon/taskchannel.c
runtime_daemon_test_taskchannel_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_daemon_test_taskchannel_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_daemon_test_slotstate_t_SOURCES = runtime/daemon/test/slotstate.c \
	runtime/daemon/slotstate.c runtime/daemon/slotstate.h
runtime_daemon_test_slotstate_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_daemon_test_slotstate_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_daemon_test_joblist_t_SOURCES = runtime/daemon/test/joblist.c \
	runtime/daemon/joblist.c
runtime_daemon_test_joblist_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_daemon_test_joblist_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_daemon_test_taskenv_t_SOURCES = runtime/daemon/test/taskenv.c \
	runtime/daemon/taskenv.c runtime/daemon/taskenv.h
runtime_daemon_test_taskenv_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_daemon_test_taskenv_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_daemon_test_taskoutput_t_SOURCES = runtime/daemon/test/taskoutput.c \
	runtime/daemon/taskoutput.c runtime/daemon/taskoutput.h
runtime_daemon_test_taskoutput_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_daemon_test_taskoutput_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_daemon_test_disposition_t_SOURCES = runtime/daemon/test/disposition.c \
	runtime/daemon/disposition.c runtime/daemon/disposition.h
runtime_daemon_test_disposition_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_daemon_test_disposition_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_daemon_test_heldresults_t_SOURCES = runtime/daemon/test/heldresults.c \
	runtime/daemon/heldresults.c runtime/daemon/heldresults.h
runtime_daemon_test_heldresults_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_daemon_test_heldresults_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
