# src/air.mk - AIR builder, parser, interpreter, LogUp, traces (owner: air)
noinst_HEADERS += src/air.h src/logup.h src/air_priv.h src/trace.h
libspwcore_la_SOURCES += src/air_build.c src/air_eval.c src/air_parse.c src/air_check.c \
	src/logup.c src/trace.c
