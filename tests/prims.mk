# tests/prims.mk - tests of the primitives.

# ---- field + NTT (owner: prims-ntt) ----
# ---- end field + NTT ----


# ---- BLAKE3 + Merkle (owner: prims-hash) ----
# ---- end BLAKE3 + Merkle ----
