# tests/air.mk - tests of the air layer (owner: air)
noinst_HEADERS += tests/air_test_util.h
EXTRA_DIST += tests/data/fib.air tests/data/lookup.air tests/data/three.air
check_PROGRAMS += tests/test_air_build
TESTS += tests/test_air_build
tests_test_air_build_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
check_PROGRAMS += tests/test_air_logup
TESTS += tests/test_air_logup
tests_test_air_logup_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
check_PROGRAMS += tests/test_air_parse
TESTS += tests/test_air_parse
tests_test_air_parse_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
check_PROGRAMS += tests/test_air_trace
TESTS += tests/test_air_trace
tests_test_air_trace_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
