# src/prims.mk - filled in by its layer
