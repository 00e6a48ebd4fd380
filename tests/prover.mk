# tests/prover.mk - tests of the prover layer
