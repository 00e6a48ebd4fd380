# src/prover.mk - filled in by its layer
