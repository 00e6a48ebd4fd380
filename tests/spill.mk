# tests/spill.mk - tests of the spill layer
