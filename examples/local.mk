# examples/: small task programs, used by the README and the tests.
noinst_PROGRAMS += examples/hello
examples_hello_SOURCES = examples/hello.c
