# runtime/lib/: what both programs share (the wire protocol, seals, the
# AMQP wrapper, topology, staging), built on runtime/util/.
noinst_LTLIBRARIES += runtime/libkrunrt.la
runtime_libkrunrt_la_SOURCES = \
	runtime/lib/stagename.c runtime/lib/stagename.h \
	runtime/lib/protocol.c runtime/lib/protocol.h \
	runtime/lib/sign.c runtime/lib/sign.h \
	runtime/lib/sealed.c runtime/lib/sealed.h \
	runtime/lib/pool.c runtime/lib/pool.h \
	runtime/lib/replay.c runtime/lib/replay.h \
	runtime/lib/transport.c runtime/lib/transport.h \
	runtime/lib/transport_tls.c runtime/lib/transport_tls.h \
	runtime/lib/amqpmux.c runtime/lib/amqpmux.h \
	runtime/lib/topology.c runtime/lib/topology.h \
	runtime/lib/cpumap.c runtime/lib/cpumap.h \
	runtime/lib/log.c runtime/lib/log.h \
	runtime/lib/procstat.c runtime/lib/procstat.h \
	runtime/lib/scratch.c runtime/lib/scratch.h \
	runtime/lib/userdir.c runtime/lib/userdir.h \
	runtime/lib/stage.c runtime/lib/stage.h \
	runtime/lib/secrets.c runtime/lib/secrets.h \
	runtime/lib/rankdata.c runtime/lib/rankdata.h \
	runtime/lib/inherit.c runtime/lib/inherit.h \
	runtime/lib/cpulist.c runtime/lib/cpulist.h
runtime_libkrunrt_la_CFLAGS = $(RUNTIME_CFLAGS) $(RABBITMQ_CFLAGS) $(HWLOC_CFLAGS) \
	$(CJSON_CFLAGS) $(NETTLE_CFLAGS) $(OPENSSL_CFLAGS)
# librabbitmq and OpenSSL are not here: each program links them
# ($(KRUNRT_LIBS) in Makefile.am; krun its own way, launcher/local.mk).
runtime_libkrunrt_la_LIBADD = runtime/util/libkrunutil.la \
	$(HWLOC_LIBS) $(CJSON_LIBS) $(NETTLE_LIBS) -lm

# Unit tests, next to the code.
LIB_UNIT_TESTS = \
	runtime/lib/test/protocol.t \
	runtime/lib/test/sign.t \
	runtime/lib/test/pool.t \
	runtime/lib/test/replay.t \
	runtime/lib/test/scratch.t \
	runtime/lib/test/userdir.t \
	runtime/lib/test/cpumap.t \
	runtime/lib/test/topology.t \
	runtime/lib/test/stage.t \
	runtime/lib/test/secrets.t \
	runtime/lib/test/rankdata.t \
	runtime/lib/test/inherit.t \
	runtime/lib/test/cpulist.t \
	runtime/lib/test/amqpmux.t
check_PROGRAMS += $(LIB_UNIT_TESTS)
TESTS += $(LIB_UNIT_TESTS)
runtime_lib_test_amqpmux_t_SOURCES = runtime/lib/test/amqpmux.c
runtime_lib_test_amqpmux_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_lib_test_amqpmux_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_lib_test_protocol_t_SOURCES = runtime/lib/test/protocol.c
runtime_lib_test_protocol_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_lib_test_protocol_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_lib_test_sign_t_SOURCES = runtime/lib/test/sign.c
runtime_lib_test_sign_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_lib_test_sign_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_lib_test_pool_t_SOURCES = runtime/lib/test/pool.c
runtime_lib_test_pool_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_lib_test_pool_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_lib_test_replay_t_SOURCES = runtime/lib/test/replay.c
runtime_lib_test_replay_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_lib_test_replay_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_lib_test_scratch_t_SOURCES = runtime/lib/test/scratch.c
runtime_lib_test_scratch_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_lib_test_scratch_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_lib_test_userdir_t_SOURCES = runtime/lib/test/userdir.c
runtime_lib_test_userdir_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_lib_test_userdir_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_lib_test_cpumap_t_SOURCES = runtime/lib/test/cpumap.c
runtime_lib_test_cpumap_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_lib_test_cpumap_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_lib_test_topology_t_SOURCES = runtime/lib/test/topology.c
runtime_lib_test_topology_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_lib_test_topology_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_lib_test_topology_t_CPPFLAGS = $(AM_CPPFLAGS) -DSRCDIR_FALLBACK=\"$(abs_top_srcdir)\"
EXTRA_DIST += runtime/lib/test/topology-4core.xml
runtime_lib_test_stage_t_SOURCES = runtime/lib/test/stage.c
runtime_lib_test_stage_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_lib_test_stage_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la

# Needs a broker: run by tests/t0010-transport.t, not directly by make check.
check_PROGRAMS += runtime/lib/test/transport-check
runtime_lib_test_transport_check_SOURCES = runtime/lib/test/transport-check.c
runtime_lib_test_transport_check_CFLAGS = $(RUNTIME_CFLAGS)
runtime_lib_test_transport_check_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_lib_test_secrets_t_SOURCES = runtime/lib/test/secrets.c
runtime_lib_test_secrets_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_lib_test_secrets_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_lib_test_rankdata_t_SOURCES = runtime/lib/test/rankdata.c
runtime_lib_test_rankdata_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_lib_test_rankdata_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_lib_test_inherit_t_SOURCES = runtime/lib/test/inherit.c
runtime_lib_test_inherit_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_lib_test_inherit_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
runtime_lib_test_cpulist_t_SOURCES = runtime/lib/test/cpulist.c
runtime_lib_test_cpulist_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_lib_test_cpulist_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
