# src/air.mk - AIR builder, parser, interpreter, LogUp, traces (owner: air)
noinst_HEADERS += src/air.h src/logup.h
