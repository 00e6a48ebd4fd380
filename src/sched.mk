# src/sched.mk - planner and streaming (out-of-core) scheduler (owner: ooc)
libspwcore_la_SOURCES += src/plan.c src/sched/mat.c src/sched/stream.c src/sched/dev.c \
	src/sched/coset.c src/sched/rowk.c
noinst_HEADERS += src/plan.h src/sched/sched.h src/sched/dev.h src/sched/coset.h src/sched/rowk.h
