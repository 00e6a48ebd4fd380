# src/prims.mk - the primitives.

# ---- field + NTT (owner: prims-ntt) ----
libspwcore_la_SOURCES += src/field.c src/ntt.c
noinst_HEADERS += src/ntt.h src/gl_fast.h
# ---- end field + NTT ----


# ---- BLAKE3 + Merkle (owner: prims-hash) ----
libspwcore_la_SOURCES += src/blake3.c src/merkle.c
noinst_HEADERS += src/blake3.h src/merkle.h
# ---- end BLAKE3 + Merkle ----
