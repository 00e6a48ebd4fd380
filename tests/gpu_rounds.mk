# tests/gpu_rounds.mk - tests of the device rounds and the GPU prover (owner:
# gpu-rounds). They exit 77 without a GPU but compile and link everywhere.
check_PROGRAMS += tests/test_gpu_rounds_kernels tests/test_gpu_rounds_e2e
TESTS += tests/test_gpu_rounds_kernels tests/test_gpu_rounds_e2e
tests_test_gpu_rounds_kernels_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_gpu_rounds_e2e_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
# the streaming device tier (src/sched/dev.h) against the CPU backend
check_PROGRAMS += tests/test_gpu_stream
TESTS += tests/test_gpu_stream
tests_test_gpu_stream_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
