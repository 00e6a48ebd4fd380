# tests/air.mk - tests of the air layer
