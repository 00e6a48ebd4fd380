# tests/tests.mk - Check suites. Each layer appends its own tests in its
# fragment (tests/<layer>.mk) to keep merges apart.
noinst_HEADERS += tests/check_util.h tests/workload_test_util.h
AM_TESTS_ENVIRONMENT = B3SUM='$(B3SUM)'; export B3SUM; \
	SPW_TEST_DATA='$(abs_top_srcdir)/tests/data'; export SPW_TEST_DATA; \
	SPW_BIN='$(abs_top_builddir)/spillway'; export SPW_BIN;

check_PROGRAMS += tests/test_ctx
TESTS += tests/test_ctx
tests_test_ctx_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)

include tests/prims.mk
include tests/air.mk
include tests/prover.mk
include tests/spill.mk
include tests/cuda.mk
include tests/sched.mk
include tests/gpu_rounds.mk
include tests/bench.mk
