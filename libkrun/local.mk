# libkrun/: the task-side library (include/krun/krun.h), installed with its
# header and a pkg-config file.  It links nothing but libc and libm: a task
# talks only to its slot, never to the broker.
lib_LTLIBRARIES += libkrun/libkrun.la
libkrun_libkrun_la_SOURCES = libkrun/krun.c libkrun/record.h
libkrun_libkrun_la_LIBADD = -lm
# current:revision:age of the library interface (libtool versioning).
libkrun_libkrun_la_LDFLAGS = $(AM_LDFLAGS) -version-info 0:0:0 -no-undefined
krunincludedir = $(includedir)/krun
kruninclude_HEADERS = include/krun/krun.h
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = libkrun/krun.pc
EXTRA_DIST += libkrun/krun.pc.in

LIBKRUN_UNIT_TESTS = libkrun/test/krun.t
check_PROGRAMS += $(LIBKRUN_UNIT_TESTS)
TESTS += $(LIBKRUN_UNIT_TESTS)
libkrun_test_krun_t_SOURCES = libkrun/test/krun.c runtime/taskchannel.c
libkrun_test_krun_t_LDADD = libkrun/libkrun.la runtime/libkrunrt.la tests/libtap.la
