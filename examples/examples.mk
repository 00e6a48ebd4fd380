# examples/examples.mk - workloads (fib, vm, synth) in a convenience library
# linked by the CLI and the tests, and the embedding example (owner: workloads).
noinst_LTLIBRARIES += libspwexamples.la
libspwexamples_la_SOURCES = examples/workloads.c examples/fib.c examples/vm.c \
	examples/synth.c
noinst_HEADERS += examples/workloads.h examples/wl_internal.h

check_PROGRAMS += tests/test_workloads
TESTS += tests/test_workloads
tests_test_workloads_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
