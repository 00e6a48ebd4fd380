# tests/prims.mk - tests of the primitives.

# ---- field + NTT (owner: prims-ntt) ----
# ---- end field + NTT ----


# ---- BLAKE3 + Merkle (owner: prims-hash) ----
check_PROGRAMS += tests/test_blake3 tests/test_merkle
TESTS += tests/test_blake3 tests/test_merkle
tests_test_blake3_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_merkle_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
EXTRA_DIST += tests/data/blake3_vectors.txt
# ---- end BLAKE3 + Merkle ----
