# tests/: the TAP library and the whole-program scenarios (tNNNN-*.t),
# which run the real krun and krund against a private RabbitMQ.
noinst_LTLIBRARIES += tests/libtap.la
tests_libtap_la_SOURCES = tests/tap.c tests/tap.h

INTEGRATION_TESTS = \
	tests/t0010-transport.t \
	tests/t0100-run.t \
	tests/t0110-output.t \
	tests/t0120-exit-status.t \
	tests/t0130-cancel.t \
	tests/t0140-nodes.t \
	tests/t0150-warm.t \
	tests/t0160-bad-input.t \
	tests/t0170-embedded.t \
	tests/t0175-broker-idle.t \
	tests/t0200-faults.t \
	tests/t0300-kube-run.t \
	tests/t0310-kube-pool.t \
	tests/t0320-kube-auth.t \
	tests/t0330-kube-stage.t \
	tests/t0400-task-api.t \
	tests/t0410-commands.t \
	tests/t0420-progress.t \
	tests/t0430-install.t
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += tests/lib tests/kube $(INTEGRATION_TESTS)
