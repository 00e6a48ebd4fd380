# cuda/rounds.mk - CUDA kernels for the prover rounds and the GPU prover path (owner: gpu-rounds)
EXTRA_DIST += cuda/rounds_api.h cuda/rounds_poly.cu cuda/rounds_logup.cu cuda/rounds_comp.cu \
	cuda/rounds_deep.cu
noinst_HEADERS += cuda/rounds_api.h src/gpu_prover.h
# the streaming device tier's FRI layer conversions (src/sched/dev.c)
EXTRA_DIST += cuda/rounds_fri.cu
noinst_HEADERS += cuda/rounds_fri.h
libspwcore_la_SOURCES += src/gpu_prover.c

if HAVE_CUDA
noinst_LTLIBRARIES += libspwrounds.la
libspwrounds_la_SOURCES = cuda/rounds_poly.cu cuda/rounds_logup.cu cuda/rounds_comp.cu \
	cuda/rounds_deep.cu
libspwrounds_la_SOURCES += cuda/rounds_fri.cu
libspwrounds_la_LINK = $(LINK)
libspwcore_la_LIBADD += libspwrounds.la
endif
