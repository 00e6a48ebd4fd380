# tests/prims.mk - tests of the primitives.

# ---- field + NTT (owner: prims-ntt) ----
check_PROGRAMS += tests/test_field tests/test_ntt
TESTS += tests/test_field tests/test_ntt
tests_test_field_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_ntt_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
# ---- end field + NTT ----


# ---- BLAKE3 + Merkle (owner: prims-hash) ----
# ---- end BLAKE3 + Merkle ----
