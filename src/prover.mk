# src/prover.mk - transcript, rounds, FRI, proof encoding, verifier (owner: prover)
