# spill/spill.mk - the column store (issue: spill store)
noinst_HEADERS += spill/spill.h spill/spill_io.h cuda/pinned_api.h
libspwcore_la_SOURCES += spill/range.c spill/io.c spill/pool.c spill/codec.c spill/store.c spill/probe.c
EXTRA_DIST += cuda/pinned.cu

# cuda/pinned.cu (page-locking the pool, the probe's copy benchmark) goes
# into its own convenience library: this fragment is included before
# cuda/cuda.mk defines libspwcuda_la_SOURCES, so it cannot append there.
if HAVE_CUDA
noinst_LTLIBRARIES += libspwpinned.la
libspwpinned_la_SOURCES = cuda/pinned.cu
libspwpinned_la_LINK = $(LINK)
libspwcore_la_LIBADD += libspwpinned.la
endif
EXTRA_DIST += spill/bench-vs-fio.sh
