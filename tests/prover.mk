# tests/prover.mk - tests of the prover layer
check_PROGRAMS += tests/test_prover_units
TESTS += tests/test_prover_units
tests_test_prover_units_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
check_PROGRAMS += tests/test_prover_e2e
TESTS += tests/test_prover_e2e
tests_test_prover_e2e_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
noinst_HEADERS += tests/prover_test_util.h
check_PROGRAMS += tests/test_prover_workloads
TESTS += tests/test_prover_workloads
tests_test_prover_workloads_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
EXTRA_DIST += tests/prover_perf.sh
# per-round calibration of the planner's compute model (owner: calib)
check_PROGRAMS += tests/test_plan_calib
TESTS += tests/test_plan_calib
tests_test_plan_calib_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
