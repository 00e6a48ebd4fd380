# bench/bench.mk - micro-benchmarks (not part of make check).

# ---- CPU primitives: NTT/LDE (owner: prims-ntt) ----
noinst_PROGRAMS += bench/bench_ntt
bench_bench_ntt_SOURCES = bench/bench_ntt.c
# ---- end ----


# ---- CPU primitives: BLAKE3/Merkle (owner: prims-hash) ----
noinst_PROGRAMS += bench/bench_hash
bench_bench_hash_SOURCES = bench/bench_hash.c
# ---- end ----


# ---- GPU primitives (owner: cuda) ----
noinst_PROGRAMS += bench/bench_gpu
bench_bench_gpu_SOURCES = bench/bench_gpu.c
# ---- end ----

# ---- accuracy of the planner's compute model (owner: calib; slow, run by hand) ----
EXTRA_DIST += bench/calib_accuracy.sh
# ---- end ----

# ---- the streaming device tier's figures (GPU, slow, run by hand) ----
EXTRA_DIST += bench/stream_device.sh
EXTRA_DIST += bench/pin_bench.cu
# ---- end ----
