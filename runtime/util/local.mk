# runtime/util/: small helpers with no dependency but libc (errors, file
# and fd I/O, clocks, base64, integer parsing, environment entries), used by
# every program.
noinst_LTLIBRARIES += runtime/util/libkrunutil.la
runtime_util_libkrunutil_la_SOURCES = \
	runtime/util/error.c runtime/util/error.h \
	runtime/util/fdio.c runtime/util/fdio.h \
	runtime/util/fileio.c runtime/util/fileio.h \
	runtime/util/clock.c runtime/util/clock.h \
	runtime/util/base64.c runtime/util/base64.h \
	runtime/util/parseint.c runtime/util/parseint.h \
	runtime/util/envlist.c runtime/util/envlist.h
runtime_util_libkrunutil_la_CFLAGS = $(RUNTIME_CFLAGS)

UTIL_UNIT_TESTS = \
	runtime/util/test/fdio.t \
	runtime/util/test/fileio.t \
	runtime/util/test/base64.t \
	runtime/util/test/parseint.t \
	runtime/util/test/envlist.t
check_PROGRAMS += $(UTIL_UNIT_TESTS)
TESTS += $(UTIL_UNIT_TESTS)
runtime_util_test_fdio_t_SOURCES = runtime/util/test/fdio.c
runtime_util_test_fdio_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_util_test_fdio_t_LDADD = runtime/util/libkrunutil.la tests/libtap.la
runtime_util_test_fileio_t_SOURCES = runtime/util/test/fileio.c
runtime_util_test_fileio_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_util_test_fileio_t_LDADD = runtime/util/libkrunutil.la tests/libtap.la
runtime_util_test_base64_t_SOURCES = runtime/util/test/base64.c
runtime_util_test_base64_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_util_test_base64_t_LDADD = runtime/util/libkrunutil.la tests/libtap.la
runtime_util_test_parseint_t_SOURCES = runtime/util/test/parseint.c
runtime_util_test_parseint_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_util_test_parseint_t_LDADD = runtime/util/libkrunutil.la tests/libtap.la
runtime_util_test_envlist_t_SOURCES = runtime/util/test/envlist.c
runtime_util_test_envlist_t_CFLAGS = $(RUNTIME_CFLAGS)
runtime_util_test_envlist_t_LDADD = runtime/util/libkrunutil.la tests/libtap.la
