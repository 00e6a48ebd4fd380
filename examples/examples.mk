# examples/examples.mk - workloads (fib, vm, synth) in a convenience library
# linked by the CLI and the tests, and the embedding example (owner: workloads).
noinst_LTLIBRARIES += libspwexamples.la
libspwexamples_la_SOURCES = examples/workloads.c examples/fib.c examples/vm.c \
	examples/synth.c
noinst_HEADERS += examples/workloads.h examples/wl_internal.h

# tests/test_workloads.c is registered once the air layer (spw_air_*) is
# merged: it needs the builder, the trace reader and the checkers to link.
EXTRA_DIST += tests/test_workloads.c
