# src/prover.mk - transcript, rounds, FRI, proof encoding, verifier (owner: prover)
libspwcore_la_SOURCES += src/transcript.c src/proof.c src/fri.c src/prover.c src/verifier.c
noinst_HEADERS += src/transcript.h src/stark.h src/fri.h src/proof.h
# per-round calibration of the planner's compute model (owner: calib)
libspwcore_la_SOURCES += src/plan_calib.c
noinst_HEADERS += src/plan_calib.h
