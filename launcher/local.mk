# launcher/: the krun command; each provider's folder (launcher/local/,
# launcher/kubernetes/) adds its files in its own local.mk.
bin_PROGRAMS += launcher/krun
launcher_krun_SOURCES = \
	launcher/krun.c \
	launcher/cmdline.c launcher/cmdline.h \
	launcher/usage.c launcher/usage.h \
	launcher/run.c launcher/run.h \
	launcher/commands.c launcher/commands.h \
	launcher/session.c launcher/session.h \
	launcher/agent.c launcher/agent.h \
	launcher/nextjob.c launcher/nextjob.h \
	launcher/die.c launcher/die.h \
	launcher/optvalue.c launcher/optvalue.h \
	launcher/provider.c launcher/provider.h \
	launcher/config.c launcher/config.h \
	launcher/yamlfile.c launcher/yamlfile.h \
	launcher/job.c launcher/job.h \
	launcher/spawn.c launcher/spawn.h \
	launcher/pidfile.c launcher/pidfile.h \
	launcher/presence.c launcher/presence.h \
	launcher/joins.c launcher/joins.h \
	launcher/nodefilter.c launcher/nodefilter.h \
	launcher/jobqueues.c launcher/jobqueues.h \
	launcher/program.c launcher/program.h \
	launcher/stagefiles.c launcher/stagefiles.h \
	launcher/exitstatus.c launcher/exitstatus.h \
	launcher/rankresult.c launcher/rankresult.h \
	launcher/outputlines.c launcher/outputlines.h \
	launcher/joblog.c launcher/joblog.h \
	launcher/inputs.c launcher/inputs.h \
	launcher/rankfiles.c launcher/rankfiles.h \
	launcher/ranklist.c launcher/ranklist.h \
	launcher/failures.c launcher/failures.h \
	launcher/halt.c launcher/halt.h \
	launcher/statusjson.c launcher/statusjson.h \
	launcher/progress.c launcher/progress.h \
	launcher/handled.c launcher/handled.h \
	launcher/batchsize.c launcher/batchsize.h \
	launcher/tlsexec.c launcher/tlsexec.h
# The program is built with the stricter warnings too (-Wcast-qual).
launcher_krun_CFLAGS = $(AM_CFLAGS) $(STRICT_WARNING_CFLAGS) $(YAML_CFLAGS)
# librabbitmq without its TLS socket, and so without OpenSSL (configure.ac,
# launcher/tlsexec.h).
launcher_krun_LDADD = runtime/libkrunrt.la $(RABBITMQ_KRUN_LIBS) $(YAML_LIBS)

# krun-tls: krun's objects and launcher/krun-tls.c, with TLS.
pkglibexec_PROGRAMS += launcher/krun-tls
launcher_krun_tls_SOURCES = launcher/krun-tls.c
launcher_krun_tls_CFLAGS = $(launcher_krun_CFLAGS)
launcher_krun_tls_LDADD = $(launcher_krun_OBJECTS) $(KRUNRT_LIBS) $(YAML_LIBS)
launcher_krun_tls_DEPENDENCIES = $(launcher_krun_OBJECTS) runtime/libkrunrt.la

LAUNCHER_UNIT_TESTS = \
	launcher/test/config.t \
	launcher/test/exitstatus.t \
	launcher/test/rankresult.t \
	launcher/test/optvalue.t \
	launcher/test/outputlines.t \
	launcher/test/joblog.t \
	launcher/test/inputs.t \
	launcher/test/program.t \
	launcher/test/stagefiles.t \
	launcher/test/progress.t \
	launcher/test/ranklist.t \
	launcher/test/failures.t \
	launcher/test/halt.t \
	launcher/test/statusjson.t \
	launcher/test/nodefilter.t \
	launcher/test/joins.t \
	launcher/test/handled.t \
	launcher/test/spawn.t \
	launcher/test/pidfile.t \
	launcher/test/batchsize.t
check_PROGRAMS += $(LAUNCHER_UNIT_TESTS)
TESTS += $(LAUNCHER_UNIT_TESTS)
launcher_test_config_t_SOURCES = launcher/test/config.c launcher/config.c \
	launcher/yamlfile.c \
	launcher/kubernetes/quantity.c
launcher_test_config_t_CFLAGS = $(AM_CFLAGS) $(YAML_CFLAGS)
launcher_test_config_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la $(YAML_LIBS)
launcher_test_ranklist_t_SOURCES = launcher/test/ranklist.c launcher/ranklist.c
launcher_test_ranklist_t_LDADD = tests/libtap.la
launcher_test_failures_t_SOURCES = launcher/test/failures.c launcher/failures.c \
	launcher/ranklist.c
launcher_test_failures_t_LDADD = tests/libtap.la
launcher_test_batchsize_t_SOURCES = launcher/test/batchsize.c launcher/batchsize.c
launcher_test_batchsize_t_LDADD = tests/libtap.la
launcher_test_halt_t_SOURCES = launcher/test/halt.c launcher/halt.c
launcher_test_halt_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
launcher_test_statusjson_t_SOURCES = launcher/test/statusjson.c launcher/statusjson.c
launcher_test_statusjson_t_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS)
launcher_test_statusjson_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la $(CJSON_LIBS)
launcher_test_exitstatus_t_SOURCES = launcher/test/exitstatus.c launcher/exitstatus.c
launcher_test_exitstatus_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
launcher_test_rankresult_t_SOURCES = launcher/test/rankresult.c launcher/rankresult.c \
	launcher/exitstatus.c
launcher_test_rankresult_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
launcher_test_optvalue_t_SOURCES = launcher/test/optvalue.c launcher/optvalue.c
launcher_test_optvalue_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
launcher_test_outputlines_t_SOURCES = launcher/test/outputlines.c launcher/outputlines.c
launcher_test_outputlines_t_LDADD = tests/libtap.la
launcher_test_joblog_t_SOURCES = launcher/test/joblog.c launcher/joblog.c
launcher_test_joblog_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
launcher_test_inputs_t_SOURCES = launcher/test/inputs.c launcher/inputs.c
launcher_test_inputs_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
launcher_test_program_t_SOURCES = launcher/test/program.c launcher/program.c
launcher_test_program_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
launcher_test_progress_t_SOURCES = launcher/test/progress.c launcher/progress.c
launcher_test_progress_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
launcher_test_handled_t_SOURCES = launcher/test/handled.c launcher/handled.c
launcher_test_handled_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
launcher_test_pidfile_t_SOURCES = launcher/test/pidfile.c launcher/pidfile.c
launcher_test_pidfile_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
launcher_test_spawn_t_SOURCES = launcher/test/spawn.c launcher/spawn.c
launcher_test_spawn_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
launcher_test_stagefiles_t_SOURCES = launcher/test/stagefiles.c launcher/stagefiles.c
launcher_test_stagefiles_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
launcher_test_nodefilter_t_SOURCES = launcher/test/nodefilter.c launcher/nodefilter.c
launcher_test_nodefilter_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
launcher_test_joins_t_SOURCES = launcher/test/joins.c launcher/joins.c
launcher_test_joins_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la

include launcher/local/local.mk
include launcher/kubernetes/local.mk
include launcher/ssh/local.mk
include launcher/slurm/local.mk
