# tests/: the TAP library and the whole-program scenarios (tNNNN-*.t),
# which run the real krun and krund against a private RabbitMQ.
noinst_LTLIBRARIES += tests/libtap.la
tests_libtap_la_SOURCES = tests/tap.c tests/tap.h

INTEGRATION_TESTS =
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += tests/lib $(INTEGRATION_TESTS)
