# src/air.mk - filled in by its layer
