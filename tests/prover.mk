# tests/prover.mk - tests of the prover layer
check_PROGRAMS += tests/test_prover_units
TESTS += tests/test_prover_units
tests_test_prover_units_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
