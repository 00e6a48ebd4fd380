# tests/sched.mk
