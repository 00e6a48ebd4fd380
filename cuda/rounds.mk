# cuda/rounds.mk - CUDA kernels for the prover rounds and the GPU prover path (owner: gpu-rounds)
