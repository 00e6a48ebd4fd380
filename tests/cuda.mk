# tests/cuda.mk - tests of the cuda layer
