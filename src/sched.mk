# src/sched.mk - planner and streaming (out-of-core) scheduler (owner: ooc)
