# tests/bench.mk - progress, run statistics and spillway bench (owner: bench)
check_PROGRAMS += tests/test_bench_progress
TESTS += tests/test_bench_progress
tests_test_bench_progress_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
TESTS += tests/test_bench.sh
EXTRA_DIST += tests/test_bench.sh tests/check_stats_json.py
