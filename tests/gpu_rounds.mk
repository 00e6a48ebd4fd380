# tests/gpu_rounds.mk
