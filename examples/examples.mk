# examples/examples.mk - workloads (fib, vm, synth) in a convenience library
# linked by the CLI and the tests, and the embedding example (owner: workloads).
noinst_LTLIBRARIES += libspwexamples.la
libspwexamples_la_SOURCES = examples/workloads.c
noinst_HEADERS += examples/workloads.h
