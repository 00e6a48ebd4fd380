# tests/sched.mk - tests of the planner and the streaming prover (owner: ooc)
check_PROGRAMS += tests/test_sched_prove
TESTS += tests/test_sched_prove
tests_test_sched_prove_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
check_PROGRAMS += tests/test_sched_store
TESTS += tests/test_sched_store
tests_test_sched_store_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
check_PROGRAMS += tests/test_sched_mem
TESTS += tests/test_sched_mem
tests_test_sched_mem_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
# the planner's streaming device tier: recompute vs store (owner: plandev)
check_PROGRAMS += tests/test_plan_device
TESTS += tests/test_plan_device
tests_test_plan_device_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
# the recompute tier on the CPU (coset.c) and the planner's choice
check_PROGRAMS += tests/test_sched_recompute
TESTS += tests/test_sched_recompute
tests_test_sched_recompute_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
