# tests/cuda.mk - tests of the cuda layer (skip with 77 without a GPU; they
# still compile and link wherever the CUDA backend is built).
check_PROGRAMS += tests/test_gpu_arena tests/test_gpu_ntt tests/test_gpu_blake3 tests/test_gpu_merkle
TESTS += tests/test_gpu_arena tests/test_gpu_ntt tests/test_gpu_blake3 tests/test_gpu_merkle
tests_test_gpu_arena_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_gpu_ntt_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_gpu_blake3_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_gpu_merkle_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
