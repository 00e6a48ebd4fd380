# bench/driver.mk - spillway bench, run statistics, progress, plots (owner: bench)
noinst_HEADERS += src/stats.h src/progress.h src/cli/cli_log.h
libspwcore_la_SOURCES += src/stats.c src/progress.c
spillway_SOURCES += src/cli/cli_log.c
EXTRA_DIST += docs/stats-schema.json
EXTRA_DIST += bench/plot-h100-scaling.gp
