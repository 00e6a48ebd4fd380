# tests/bench.mk - progress, run statistics and spillway bench (owner: bench)
check_PROGRAMS += tests/test_bench_progress
TESTS += tests/test_bench_progress
tests_test_bench_progress_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
TESTS += tests/test_bench.sh
EXTRA_DIST += tests/test_bench.sh tests/check_stats_json.py
# progress and statistics under the CUDA backend (skips with 77 without a GPU)
check_PROGRAMS += tests/test_bench_gpu
TESTS += tests/test_bench_gpu
tests_test_bench_gpu_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
EXTRA_DIST += tests/bench_test_util.h
