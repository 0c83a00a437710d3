# tests/: the TAP library and the whole-program scenarios (tNNNN-*.t),
# which run the real krun and krund against a private RabbitMQ.
noinst_LTLIBRARIES += tests/libtap.la
tests_libtap_la_SOURCES = tests/tap.c tests/tap.h tests/testdir.c tests/testdir.h \
	tests/testproc.c tests/testproc.h

INTEGRATION_TESTS = \
	tests/t0010-transport.t \
	tests/t0012-tls-run.t \
	tests/t0100-run.t \
	tests/t0110-output.t \
	tests/t0120-exit-status.t \
	tests/t0130-cancel.t \
	tests/t0140-nodes.t \
	tests/t0145-bindings.t \
	tests/t0150-warm.t \
	tests/t0152-agent.t \
	tests/t0155-jobs.t \
	tests/t0160-bad-input.t \
	tests/t0170-embedded.t \
	tests/t0175-broker-idle.t \
	tests/t0177-private-broker.t \
	tests/t0180-stage.t \
	tests/t0185-user-cache.t \
	tests/t0186-dead-slot-dirs.t \
	tests/t0200-faults.t \
	tests/t0202-batches.t \
	tests/t0205-shared-connection.t \
	tests/t0210-signing.t \
	tests/t0215-confidential.t \
	tests/t0220-timeout-retries.t \
	tests/t0230-broker-restart.t \
	tests/t0232-broker-crash-attempts.t \
	tests/t0235-durable-launcher.t \
	tests/t0240-hostile-tasks.t \
	tests/t0245-task-tree.t \
	tests/t0250-fuzz-corpus.t \
	tests/t0260-hostile-input.t \
	tests/t0262-lost-output.t \
	tests/t0263-long-lines.t \
	tests/t0264-input-limits.t \
	tests/t0270-pools.t \
	tests/t0300-kube-run.t \
	tests/t0310-kube-pool.t \
	tests/t0320-kube-auth.t \
	tests/t0330-kube-stage.t \
	tests/t0340-kube-jobs.t \
	tests/t0400-task-api.t \
	tests/t0410-commands.t \
	tests/t0420-progress.t \
	tests/t0430-install.t \
	tests/t0440-dockerignore.t \
	tests/t0450-habits.t \
	$(CONTAINER_TESTS) \
	tests/t0600-ssh.t \
	tests/t0605-krund-secrets.t \
	tests/t0610-slurm.t
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += tests/lib tests/kube $(INTEGRATION_TESTS)

# Helper of the signing test (tests/t0210-signing.t).
check_PROGRAMS += tests/amqp-capture
tests_amqp_capture_SOURCES = tests/amqp-capture.c
tests_amqp_capture_LDADD = $(KRUNRT_LIBS)
# A daemon that answers presence only (t0270, and t0177 for a reported PID).
check_PROGRAMS += tests/fake-daemon
tests_fake_daemon_SOURCES = tests/fake-daemon.c
tests_fake_daemon_LDADD = $(KRUNRT_LIBS)

# Fuzzing (tests/fuzz): `make fuzz` builds the libFuzzer harnesses with clang
# and runs each for FUZZ_SECONDS; `make check` replays the committed corpus
# through the same harnesses (tests/t0250-fuzz-corpus.t), with any compiler.
check_PROGRAMS += tests/fuzz/protocol-replay tests/fuzz/sign-replay
tests_fuzz_protocol_replay_SOURCES = tests/fuzz/replay.c tests/fuzz/protocol.c
tests_fuzz_protocol_replay_LDADD = $(KRUNRT_LIBS)
tests_fuzz_sign_replay_SOURCES = tests/fuzz/replay.c tests/fuzz/sign.c
tests_fuzz_sign_replay_LDADD = $(KRUNRT_LIBS)
EXTRA_DIST += tests/fuzz
FUZZ_SECONDS = 30
fuzz: all
	KRUN_TOP_BUILDDIR=$(abs_top_builddir) $(SHELL) $(top_srcdir)/tests/fuzz/run $(FUZZ_SECONDS)
.PHONY: fuzz

# The fault and bad-input group (issue 5, docs/reliability.md): also part of
# `make check`; `make check-faults` runs only these.
FAULT_TESTS = \
	runtime/lib/test/sign.t \
	runtime/lib/test/replay.t \
	runtime/lib/test/scratch.t \
	runtime/lib/test/userdir.t \
	runtime/lib/test/secrets.t \
	runtime/daemon/test/reaper.t \
	runtime/daemon/test/cgroup.t \
	runtime/lib/test/amqpmux.t \
	launcher/test/joblog.t \
	tests/t0130-cancel.t \
	tests/t0160-bad-input.t \
	tests/t0177-private-broker.t \
	tests/t0185-user-cache.t \
	tests/t0186-dead-slot-dirs.t \
	tests/t0200-faults.t \
	tests/t0202-batches.t \
	tests/t0205-shared-connection.t \
	tests/t0210-signing.t \
	tests/t0215-confidential.t \
	tests/t0220-timeout-retries.t \
	tests/t0230-broker-restart.t \
	tests/t0232-broker-crash-attempts.t \
	tests/t0235-durable-launcher.t \
	tests/t0240-hostile-tasks.t \
	tests/t0245-task-tree.t \
	tests/t0250-fuzz-corpus.t \
	tests/t0260-hostile-input.t \
	tests/t0262-lost-output.t \
	tests/t0264-input-limits.t \
	tests/t0600-ssh.t \
	tests/t0605-krund-secrets.t \
	tests/t0610-slurm.t
check-faults:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(FAULT_TESTS)'
.PHONY: check-faults

# The Kubernetes scenarios in real containers (podman + runc, the image
# built from deploy/Dockerfile by tests/kube/build-image): also part of
# `make check`, where they are skipped, saying why, without root or podman
# (scripts/install-deps --containers); `make check-containers` runs only
# these.
CONTAINER_TESTS = \
	tests/t0500-container-run.t \
	tests/t0510-container-pool.t \
	tests/t0520-container-cpus.t
check-containers:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(CONTAINER_TESTS)'
.PHONY: check-containers
