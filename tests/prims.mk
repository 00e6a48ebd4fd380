# tests/prims.mk - tests of the primitives.

# ---- field + NTT (owner: prims-ntt) ----
check_PROGRAMS += tests/test_field tests/test_ntt
TESTS += tests/test_field tests/test_ntt
tests_test_field_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_ntt_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
# ---- end field + NTT ----


# ---- BLAKE3 + Merkle (owner: prims-hash) ----
check_PROGRAMS += tests/test_blake3 tests/test_merkle
TESTS += tests/test_blake3 tests/test_merkle
tests_test_blake3_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_merkle_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
EXTRA_DIST += tests/data/blake3_vectors.txt
# ---- end BLAKE3 + Merkle ----
