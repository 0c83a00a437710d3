# runtime/: what runs on a worker node and what both programs share.
noinst_LTLIBRARIES += runtime/libkrunrt.la
runtime_libkrunrt_la_SOURCES = \
	runtime/error.c runtime/error.h \
	runtime/fdio.c runtime/fdio.h \
	runtime/protocol.c runtime/protocol.h \
	runtime/sign.c runtime/sign.h \
	runtime/pool.c runtime/pool.h \
	runtime/replay.c runtime/replay.h \
	runtime/transport.c runtime/transport.h \
	runtime/topology.c runtime/topology.h \
	runtime/cpumap.c runtime/cpumap.h \
	runtime/clock.c runtime/clock.h \
	runtime/log.c runtime/log.h \
	runtime/procstat.c runtime/procstat.h \
	runtime/scratch.c runtime/scratch.h \
	runtime/userdir.c runtime/userdir.h \
	runtime/stage.c runtime/stage.h
runtime_libkrunrt_la_CFLAGS = $(AM_CFLAGS) $(RABBITMQ_CFLAGS) $(HWLOC_CFLAGS) \
	$(CJSON_CFLAGS) $(OPENSSL_CFLAGS)
runtime_libkrunrt_la_LIBADD = $(RABBITMQ_LIBS) $(HWLOC_LIBS) $(CJSON_LIBS) \
	$(OPENSSL_LIBS) -lm

sbin_PROGRAMS += runtime/krund
runtime_krund_SOURCES = \
	runtime/krund.c \
	runtime/daemon.c runtime/daemon.h \
	runtime/slot.c runtime/slot.h \
	runtime/slotstate.c runtime/slotstate.h \
	runtime/relay.c runtime/relay.h \
	runtime/task.c runtime/task.h \
	runtime/reaper.c runtime/reaper.h \
	runtime/cgroup.c runtime/cgroup.h \
	runtime/taskchannel.c runtime/taskchannel.h \
	runtime/rankdata.c runtime/rankdata.h \
	runtime/joblist.c runtime/joblist.h
runtime_krund_LDADD = runtime/libkrunrt.la

# Unit tests, next to the code.
RUNTIME_UNIT_TESTS = \
	runtime/test/protocol.t \
	runtime/test/sign.t \
	runtime/test/pool.t \
	runtime/test/replay.t \
	runtime/test/scratch.t \
	runtime/test/userdir.t \
	runtime/test/cpumap.t \
	runtime/test/topology.t \
	runtime/test/relay.t \
	runtime/test/task.t \
	runtime/test/reaper.t \
	runtime/test/cgroup.t \
	runtime/test/taskchannel.t \
	runtime/test/rankdata.t \
	runtime/test/stage.t \
	runtime/test/slotstate.t \
	runtime/test/joblist.t \
	runtime/test/fdio.t
check_PROGRAMS += $(RUNTIME_UNIT_TESTS)
TESTS += $(RUNTIME_UNIT_TESTS)
runtime_test_protocol_t_SOURCES = runtime/test/protocol.c
runtime_test_protocol_t_LDADD = runtime/libkrunrt.la tests/libtap.la
runtime_test_sign_t_SOURCES = runtime/test/sign.c
runtime_test_sign_t_LDADD = runtime/libkrunrt.la tests/libtap.la
runtime_test_pool_t_SOURCES = runtime/test/pool.c
runtime_test_pool_t_LDADD = runtime/libkrunrt.la tests/libtap.la
runtime_test_replay_t_SOURCES = runtime/test/replay.c
runtime_test_replay_t_LDADD = runtime/libkrunrt.la tests/libtap.la
runtime_test_scratch_t_SOURCES = runtime/test/scratch.c
runtime_test_scratch_t_LDADD = runtime/libkrunrt.la tests/libtap.la
runtime_test_userdir_t_SOURCES = runtime/test/userdir.c
runtime_test_userdir_t_LDADD = runtime/libkrunrt.la tests/libtap.la
runtime_test_cpumap_t_SOURCES = runtime/test/cpumap.c
runtime_test_cpumap_t_LDADD = runtime/libkrunrt.la tests/libtap.la
runtime_test_task_t_SOURCES = runtime/test/task.c runtime/task.c runtime/task.h
runtime_test_task_t_LDADD = runtime/libkrunrt.la tests/libtap.la
runtime_test_reaper_t_SOURCES = runtime/test/reaper.c runtime/reaper.c runtime/reaper.h
runtime_test_reaper_t_LDADD = runtime/libkrunrt.la tests/libtap.la
runtime_test_cgroup_t_SOURCES = runtime/test/cgroup.c runtime/cgroup.c runtime/cgroup.h \
	runtime/reaper.c runtime/reaper.h
runtime_test_cgroup_t_LDADD = runtime/libkrunrt.la tests/libtap.la
runtime_test_relay_t_SOURCES = runtime/test/relay.c runtime/relay.c runtime/relay.h
runtime_test_relay_t_LDADD = tests/libtap.la
runtime_test_topology_t_SOURCES = runtime/test/topology.c
runtime_test_topology_t_LDADD = runtime/libkrunrt.la tests/libtap.la
runtime_test_topology_t_CPPFLAGS = $(AM_CPPFLAGS) -DSRCDIR_FALLBACK=\"$(abs_top_srcdir)\"
EXTRA_DIST += runtime/test/topology-4core.xml
runtime_test_taskchannel_t_SOURCES = runtime/test/taskchannel.c runtime/taskchannel.c
runtime_test_taskchannel_t_LDADD = runtime/libkrunrt.la tests/libtap.la
runtime_test_rankdata_t_SOURCES = runtime/test/rankdata.c runtime/rankdata.c
runtime_test_rankdata_t_LDADD = runtime/libkrunrt.la tests/libtap.la
runtime_test_stage_t_SOURCES = runtime/test/stage.c
runtime_test_stage_t_LDADD = runtime/libkrunrt.la tests/libtap.la
runtime_test_slotstate_t_SOURCES = runtime/test/slotstate.c runtime/slotstate.c \
	runtime/slotstate.h
runtime_test_slotstate_t_LDADD = runtime/libkrunrt.la tests/libtap.la
runtime_test_joblist_t_SOURCES = runtime/test/joblist.c runtime/joblist.c
runtime_test_joblist_t_LDADD = runtime/libkrunrt.la tests/libtap.la
runtime_test_fdio_t_SOURCES = runtime/test/fdio.c
runtime_test_fdio_t_LDADD = runtime/libkrunrt.la tests/libtap.la

# Needs a broker: run by tests/t0010-transport.t, not directly by make check.
check_PROGRAMS += runtime/test/transport-check
runtime_test_transport_check_SOURCES = runtime/test/transport-check.c
runtime_test_transport_check_LDADD = runtime/libkrunrt.la tests/libtap.la
