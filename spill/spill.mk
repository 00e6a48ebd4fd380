# spill/spill.mk - the column store (issue: spill store)
