# examples/examples.mk - workloads and the embedding example
