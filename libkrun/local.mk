# libkrun/: the task-side library (include/krun/krun.h), installed with its
# header and a pkg-config file.  It links nothing but libc and libm: a task
# talks only to its slot, never to the broker.
lib_LTLIBRARIES += libkrun/libkrun.la
# clock.c is compiled in (libkrunutil.la would bring all of itself), and only
# the krun_ names are exported.
libkrun_libkrun_la_SOURCES = libkrun/krun.c libkrun/record.h runtime/util/clock.c \
	runtime/util/clock.h
libkrun_libkrun_la_CFLAGS = $(RUNTIME_CFLAGS)
libkrun_libkrun_la_LIBADD = -lm
# current:revision:age of the library interface (libtool versioning).
libkrun_libkrun_la_LDFLAGS = $(AM_LDFLAGS) -version-info 0:0:0 -no-undefined \
	-export-symbols-regex '^krun_'
krunincludedir = $(includedir)/krun
kruninclude_HEADERS = include/krun/krun.h
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = libkrun/krun.pc
EXTRA_DIST += libkrun/krun.pc.in

LIBKRUN_UNIT_TESTS = libkrun/test/krun.t
check_PROGRAMS += $(LIBKRUN_UNIT_TESTS)
TESTS += $(LIBKRUN_UNIT_TESTS)
libkrun_test_krun_t_SOURCES = libkrun/test/krun.c runtime/daemon/taskchannel.c
libkrun_test_krun_t_CFLAGS = $(RUNTIME_CFLAGS)
libkrun_test_krun_t_LDADD = libkrun/libkrun.la $(KRUNRT_LIBS) tests/libtap.la
