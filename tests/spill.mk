# tests/spill.mk - tests of the spill layer
noinst_HEADERS += tests/test_spill_util.h
check_PROGRAMS += tests/test_spill_io
TESTS += tests/test_spill_io
tests_test_spill_io_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
check_PROGRAMS += tests/test_spill_store
TESTS += tests/test_spill_store
tests_test_spill_store_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
check_PROGRAMS += tests/test_spill_fault
TESTS += tests/test_spill_fault
tests_test_spill_fault_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
check_PROGRAMS += tests/test_spill_probe tests/test_spill_gpu
TESTS += tests/test_spill_probe tests/test_spill_gpu
tests_test_spill_probe_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_spill_gpu_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
# the VRAM tier: GPU suite (77 without a GPU) and its CPU-only counterpart
check_PROGRAMS += tests/test_spill_vram tests/test_spill_vram_cpu
TESTS += tests/test_spill_vram tests/test_spill_vram_cpu
tests_test_spill_vram_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_spill_vram_cpu_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
# the same scenarios on the store's emulated VRAM tier (runs everywhere)
check_PROGRAMS += tests/test_spill_vram_emu
TESTS += tests/test_spill_vram_emu
tests_test_spill_vram_emu_SOURCES = tests/test_spill_vram.c
tests_test_spill_vram_emu_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -DSPW_TEST_VRAM_EMULATE
