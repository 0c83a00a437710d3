# launcher/local/: the local provider (this machine is the cluster: a
# private broker and krund daemons started on demand) and its unit tests.
launcher_krun_SOURCES += \
	launcher/local/local.c launcher/local/local.h \
	launcher/local/localprovider.c \
	launcher/local/privatebroker.c launcher/local/privatebroker.h \
	launcher/local/pidfile.c launcher/local/pidfile.h

LOCAL_UNIT_TESTS = launcher/local/test/pidfile.t
check_PROGRAMS += $(LOCAL_UNIT_TESTS)
TESTS += $(LOCAL_UNIT_TESTS)
launcher_local_test_pidfile_t_SOURCES = launcher/local/test/pidfile.c \
	launcher/local/pidfile.c
launcher_local_test_pidfile_t_LDADD = runtime/libkrunrt.la tests/libtap.la
