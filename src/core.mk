# src/core.mk - context, errors, logging, thread fan-out, the CLI frame.
noinst_HEADERS += src/internal.h src/field.h src/fe3_lazy.h src/cli/cli.h
libspwcore_la_SOURCES += src/ctx.c
spillway_SOURCES += src/cli/main.c src/cli/cli_util.c src/cli/cli_demo.c \
	src/cli/cli_prove.c src/cli/cli_probe.c src/cli/cli_plan.c src/cli/cli_bench.c
