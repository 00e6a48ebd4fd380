# cuda/cuda.mk - the CUDA backend, built into a libtool convenience library
# that libspillway absorbs. Kernels and thin launchers only.
EXTRA_DIST += cuda/nvcc-libtool cuda/cuda_api.h cuda/cuda_internal.cuh cuda/device.cu \
	cuda/arena.cu cuda/ntt.cu cuda/blake3.cu

if HAVE_CUDA
noinst_LTLIBRARIES += libspwcuda.la
libspwcuda_la_SOURCES = cuda/device.cu cuda/arena.cu cuda/ntt.cu cuda/blake3.cu
libspwcuda_la_LINK = $(LINK)

endif

SUFFIXES += .cu
NVCCFLAGS_ALL = -O3 -std=c++17 $(NVCC_ARCH_FLAGS) -I$(top_srcdir)/include \
	-I$(top_srcdir)/src -I$(top_srcdir)/cuda -I$(top_builddir) \
	--compiler-options=-Wall --compiler-options=-fvisibility=hidden --expt-relaxed-constexpr $(NVCCFLAGS)
.cu.lo:
	$(AM_V_GEN)$(LIBTOOL) $(AM_V_lt) --tag=CC --mode=compile \
	  $(SHELL) $(top_srcdir)/cuda/nvcc-libtool $(NVCC) $(NVCCFLAGS_ALL) -c -o $@ $<
