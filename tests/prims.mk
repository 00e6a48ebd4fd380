# tests/prims.mk - tests of the prims layer
