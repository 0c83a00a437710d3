# launcher/: the krun command and its providers.
bin_PROGRAMS += launcher/krun
launcher_krun_SOURCES = \
	launcher/krun.c \
	launcher/config.c launcher/config.h \
	launcher/job.c launcher/job.h \
	launcher/local.c launcher/local.h \
	launcher/presence.c launcher/presence.h \
	launcher/program.c launcher/program.h \
	launcher/exitstatus.c launcher/exitstatus.h
launcher_krun_CFLAGS = $(AM_CFLAGS) $(YAML_CFLAGS)
launcher_krun_LDADD = runtime/libkrunrt.la $(YAML_LIBS)

LAUNCHER_UNIT_TESTS = \
	launcher/test/config.t \
	launcher/test/exitstatus.t
check_PROGRAMS += $(LAUNCHER_UNIT_TESTS)
TESTS += $(LAUNCHER_UNIT_TESTS)
launcher_test_config_t_SOURCES = launcher/test/config.c launcher/config.c \
	launcher/quantity.c
launcher_test_config_t_CFLAGS = $(AM_CFLAGS) $(YAML_CFLAGS)
launcher_test_config_t_LDADD = runtime/libkrunrt.la tests/libtap.la $(YAML_LIBS)
launcher_test_exitstatus_t_SOURCES = launcher/test/exitstatus.c launcher/exitstatus.c
launcher_test_exitstatus_t_LDADD = runtime/libkrunrt.la tests/libtap.la
