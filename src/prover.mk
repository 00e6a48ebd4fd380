# src/prover.mk - transcript, rounds, FRI, proof encoding, verifier (owner: prover)
libspwcore_la_SOURCES += src/transcript.c src/proof.c src/fri.c src/prover.c src/verifier.c
noinst_HEADERS += src/transcript.h src/stark.h src/fri.h src/proof.h
